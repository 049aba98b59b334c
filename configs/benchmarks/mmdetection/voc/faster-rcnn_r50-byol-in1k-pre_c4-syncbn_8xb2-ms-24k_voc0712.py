# Copyright (c) mmselfemd contributors. All rights reserved.
# VOC transfer BASELINE: BYOL on ImageNet-1k, mmpretrain's published
# checkpoint byol_resnet50_16xb256-coslr-200e_in1k (200 epochs, batch
# 4096), the file of the COCO baseline
# (../coco/faster-rcnn_r50-byol-in1k-pre_fpn-syncbn_8xb2-1x_coco.py), keys
# under "backbone."; the URL's "-de817331" is verified on download. res5
# comes from the same file; everything else is the pre_c4 config's protocol.
_base_ = './faster-rcnn_r50-pre_c4-syncbn_8xb2-ms-24k_voc0712.py'

model = dict(
    backbone=dict(
        init_cfg=dict(
            checkpoint='https://download.openmmlab.com/mmselfsup/1.x/byol/'
            'byol_resnet50_16xb256-coslr-200e_in1k/'
            'byol_resnet50_16xb256-coslr-200e_in1k_20220825-de817331.pth')))
