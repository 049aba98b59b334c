# Copyright (c) mmselfemd contributors. All rights reserved.
# Detection transfer: Mask R-CNN R50-FPN, COCO train2017 -> val2017, 1x.
# Based on mmdet's own config:
# https://github.com/open-mmlab/mmdetection/blob/v3.3.0/configs/mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py
#
# Same protocol as faster-rcnn_r50-pre_fpn-syncbn_8xb2-1x_coco.py (SyncBN in
# backbone, FPN, box and mask heads; all stages trainable; batch 16;
# single-scale training), and the same rule: the backbone comes from the
# mmselfemd checkpoint given with
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
# or MMSELFEMD_PRETRAINED=PATH, or the run refuses to start.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(
    imports=['mmselfemd.engine.hooks'], allow_failed_imports=False)

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
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', norm_cfg=norm_cfg),
        mask_head=dict(norm_cfg=norm_cfg)))

custom_hooks = [dict(type='PretrainedBackboneCheckHook', _scope_='mmselfemd')]
# Checkpoints as plain data, loadable weights-only anywhere; resumable.
default_hooks = dict(
    portable_checkpoint=dict(type='PortableCheckpointHook',
                             _scope_='mmselfemd'))

train_dataloader = dict(batch_size=2)
auto_scale_lr = dict(enable=False, base_batch_size=16)
