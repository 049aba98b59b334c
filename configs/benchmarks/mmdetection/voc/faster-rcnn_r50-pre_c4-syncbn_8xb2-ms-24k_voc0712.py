# Copyright (c) mmselfemd contributors. All rights reserved.
# Detection transfer on PASCAL VOC: Faster R-CNN R50-C4, VOC07+12 trainval
# -> VOC07 test, 24k iterations at batch 16: the protocol of MoCo and
# DenseCL (detectron2's pascal_voc_R_50_C4_24k_moco.yaml with their
# "R50-C4 BN" base), in which MLS (ICCV 2023, Table 4) lists Self-EMD at
# 53.0 AP / 80.0 AP50. Data, schedule and metrics: ./_base_/voc0712_ms-24k.py;
# where ours differs from theirs: docs/en/user_guides/detection_transfer.md.
#
# Model: mmdet's Faster R-CNN R50-C4 made pytorch-style for our checkpoints
# (stride in the 3x3 conv, RGB input normalised with the ImageNet mean/std
# as in pretraining, as MoCo's *_moco.yaml sets), SyncBN in the backbone and
# in the res5 RoI head with the extra norm after res5 of MoCo's
# Res5ROIHeadsExtraNorm (mmpretrain's ResLayerExtraNorm), all layers
# fine-tuned (frozen_stages=-1, norm_eval=False).
#
# The pretrained ResNet-50 is split in two: stem to res4 in model.backbone,
# res5 in model.roi_head.shared_head. Both are loaded BY THIS CONFIG from
# the checkpoint given with
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
# or MMSELFEMD_PRETRAINED=PATH (an mmselfemd checkpoint, keys under
# "backbone."); the shared head follows the backbone's checkpoint
# (SAME_AS_BACKBONE), and PretrainedBackboneCheckHook checks both parts
# against the file key for key. Without a checkpoint the run refuses to
# start; it never falls back to mmdet's caffe-style ImageNet weights.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50-caffe-c4.py',
    './_base_/voc0712_ms-24k.py'
]

custom_imports = dict(
    imports=[
        'mmselfemd.engine.hooks',
        'mmpretrain.models.utils.res_layer_extra_norm'
    ],
    allow_failed_imports=False)

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        init_cfg=dict(
            type='Pretrained',
            # the default is a marker that the check hook refuses
            checkpoint='{{$MMSELFEMD_PRETRAINED:MMSELFEMD_PRETRAINED-is-not-set}}',  # noqa: E501
            prefix='backbone.')),
    roi_head=dict(
        shared_head=dict(
            type='ResLayerExtraNorm',
            norm_cfg=norm_cfg,
            norm_eval=False,
            style='pytorch',
            # res5 of the backbone's checkpoint (set by the check hook)
            init_cfg=dict(
                type='Pretrained',
                checkpoint='same-as-model.backbone.init_cfg')),
        bbox_head=dict(num_classes=20)))
