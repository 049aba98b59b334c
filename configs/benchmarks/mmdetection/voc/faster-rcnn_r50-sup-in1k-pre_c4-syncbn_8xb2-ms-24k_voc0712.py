# Copyright (c) mmselfemd contributors. All rights reserved.
# VOC transfer BASELINE: supervised ImageNet-1k, torchvision's ResNet-50
# (IMAGENET1K_V1, 76.1 top-1, the file of `torchvision://resnet50`), by URL
# so that PretrainedBackboneCheckHook downloads and verifies it ("0676ba61"
# starts its SHA-256); its keys have no prefix and its fc classifier is not
# loaded. The same file as the COCO baseline
# (../coco/faster-rcnn_r50-sup-in1k-pre_fpn-syncbn_8xb2-1x_coco.py); not the
# caffe-style MSRA R-50 of MoCo's supervised row. res5 comes from the same
# file; everything else is the pre_c4 config's protocol.
_base_ = './faster-rcnn_r50-pre_c4-syncbn_8xb2-ms-24k_voc0712.py'

model = dict(
    backbone=dict(
        init_cfg=dict(
            checkpoint='https://download.pytorch.org/models/'
            'resnet50-0676ba61.pth',
            prefix=None)))
