# Copyright (c) mmselfemd contributors. All rights reserved.
# Detection transfer on PASCAL VOC with Faster R-CNN R50-FPN: our choice
# (MoCo and DenseCL report VOC with R50-C4 only). The detector is that of
# our COCO protocol (../coco/faster-rcnn_r50-pre_fpn-syncbn_8xb2-1x_coco.py:
# SyncBN in backbone, FPN and the 4conv1fc box head, all stages trainable);
# data, schedule and metrics are the C4 config's
# (./_base_/voc0712_ms-24k.py: VOC07+12 trainval -> VOC07 test, 24k
# iterations at batch 16, multi-scale 480-800), so that only the detector
# differs from faster-rcnn_r50-pre_c4-syncbn_8xb2-ms-24k_voc0712.py.
#
# The backbone comes from the checkpoint given with
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
# or MMSELFEMD_PRETRAINED=PATH, or the run refuses to start.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    './_base_/voc0712_ms-24k.py'
]

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=dict(
            type='Pretrained',
            # the default is a marker that the check hook refuses
            checkpoint='{{$MMSELFEMD_PRETRAINED:MMSELFEMD_PRETRAINED-is-not-set}}',  # noqa: E501
            prefix='backbone.')),
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead', norm_cfg=norm_cfg,
            num_classes=20)))
