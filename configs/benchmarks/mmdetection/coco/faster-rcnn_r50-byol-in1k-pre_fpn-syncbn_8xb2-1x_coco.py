# Copyright (c) mmselfemd contributors. All rights reserved.
# Detection transfer BASELINE: BYOL pretrained on ImageNet-1k, mmpretrain's
# published checkpoint (configs/byol/metafile.yml of mmpretrain 1.2.0,
# model byol_resnet50_16xb256-coslr-200e_in1k: 200 epochs, batch 4096).
# The URL ends in "-de817331", the start of the file's SHA-256, which is
# verified on download. Everything else is the protocol of
# faster-rcnn_r50-pre_fpn-syncbn_8xb2-1x_coco.py, so its AP sits beside the
# Self-EMD, supervised and random-init runs of the same protocol.
#
# The checkpoint is fixed here (no MMSELFEMD_PRETRAINED); its backbone keys
# are under "backbone." like an mmselfemd checkpoint. The
# PretrainedBackboneCheckHook checks it (download + verification, then the
# ResNet-50 architecture check); see
# docs/en/user_guides/detection_transfer.md.
_base_ = './faster-rcnn_r50-pre_fpn-syncbn_8xb2-1x_coco.py'

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmselfsup/1.x/byol/'
            'byol_resnet50_16xb256-coslr-200e_in1k/'
            'byol_resnet50_16xb256-coslr-200e_in1k_20220825-de817331.pth',
            prefix='backbone.')))
