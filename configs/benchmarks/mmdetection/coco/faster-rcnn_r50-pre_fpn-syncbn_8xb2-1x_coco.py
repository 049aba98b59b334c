# Copyright (c) mmselfemd contributors. All rights reserved.
# Detection transfer: Faster R-CNN R50-FPN, COCO train2017 -> val2017, 1x.
# Based on mmdet's own config:
# https://github.com/open-mmlab/mmdetection/blob/v3.3.0/configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py
#
# Protocol (docs/en/user_guides/detection_transfer.md): SyncBN in the
# backbone, the FPN
# and the box head (4 shared convs + 1 fc, as mmselfsup's Mask R-CNN
# benchmarks), all stages trainable (frozen_stages=-1, norm_eval=False),
# 8 GPUs x 2 images = batch 16, single-scale 1333x800 training.
#
# The backbone is loaded BY THIS CONFIG from an mmselfemd pretraining
# checkpoint (keys under "backbone."), given with
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
# or the environment variable MMSELFEMD_PRETRAINED=PATH. Without one the run
# refuses to start (PretrainedBackboneCheckHook); it never falls back to
# mmdet's default torchvision://resnet50 (ImageNet) weights.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

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
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', norm_cfg=norm_cfg)))

# Refuses a training run whose backbone is not loaded from a local
# checkpoint matching ResNet-50 key for key (runs before init_weights()).
custom_hooks = [dict(type='PretrainedBackboneCheckHook', _scope_='mmselfemd')]
# Checkpoints as plain data, loadable weights-only anywhere; resumable.
default_hooks = dict(
    portable_checkpoint=dict(type='PortableCheckpointHook',
                             _scope_='mmselfemd'))

# 8 GPUs x 2 images; with another GPU count use --auto-scale-lr.
train_dataloader = dict(batch_size=2)
auto_scale_lr = dict(enable=False, base_batch_size=16)
