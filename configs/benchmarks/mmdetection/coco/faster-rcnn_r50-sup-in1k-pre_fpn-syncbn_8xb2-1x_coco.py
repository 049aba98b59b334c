# Copyright (c) mmselfemd contributors. All rights reserved.
# Detection transfer BASELINE: supervised ImageNet-1k initialisation,
# torchvision's ResNet-50 (IMAGENET1K_V1, 76.1 top-1): the file that
# `torchvision://resnet50` (mmdet's default init) resolves to, given by its
# URL so that PretrainedBackboneCheckHook downloads and verifies it
# ("0676ba61" is the start of its SHA-256) before the architecture check.
# Everything else is the protocol of
# faster-rcnn_r50-pre_fpn-syncbn_8xb2-1x_coco.py (SyncBN, 4conv1fc box head,
# all stages trainable, batch 16, 1x), so its AP sits beside the Self-EMD,
# BYOL and random-init runs of the same protocol.
#
# The checkpoint is fixed here (MMSELFEMD_PRETRAINED does not change it).
# torchvision's file also holds the fc.* classifier, which the detector does
# not use; see docs/en/user_guides/detection_transfer.md for how the hook
# treats it.
_base_ = './faster-rcnn_r50-pre_fpn-syncbn_8xb2-1x_coco.py'

model = dict(
    backbone=dict(
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            # torchvision layout: no key prefix
            checkpoint='https://download.pytorch.org/models/'
            'resnet50-0676ba61.pth')))
