# Copyright (c) mmselfemd contributors. All rights reserved.
# Faster R-CNN R18-FPN fine-tuning on the generated demo scenes
# (tools/run_demo.py) from a Self-EMD backbone extracted with
# tools/model_converters/extract_backbone_weights.py. Small images, BN and
# a short schedule so that it runs in minutes on a CPU; all stages train.
# The backbone is given with MMSELFEMD_PRETRAINED=PATH or
# --cfg-options model.backbone.init_cfg.checkpoint=PATH; without one the run
# refuses to start (PretrainedBackboneCheckHook).
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(
    imports=['mmselfemd.engine.hooks'], allow_failed_imports=False)

data_root = '{{$MMSELFEMD_DEMO_DATA:work_dirs/demo/data/}}'
classes = ('person', 'cat', 'cup', 'rocket', 'motorcycle', 'horse', 'logo')
metainfo = dict(classes=classes)
img_scale = (224, 224)
max_iters = 150

model = dict(
    backbone=dict(
        depth=18,
        frozen_stages=-1,
        norm_eval=False,
        norm_cfg=dict(type='BN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='{{$MMSELFEMD_PRETRAINED:MMSELFEMD_PRETRAINED-is-not-set}}',  # noqa: E501
            prefix=None)),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=128),
    rpn_head=dict(in_channels=128, feat_channels=128),
    roi_head=dict(
        # a fixed 2x2 sampling grid: mmcv's CPU RoIAlign (backward
        # especially) dominated the step with the adaptive default
        bbox_roi_extractor=dict(
            out_channels=128,
            roi_layer=dict(
                type='RoIAlign', output_size=7, sampling_ratio=2)),
        bbox_head=dict(
            in_channels=128, fc_out_channels=256,
            num_classes=len(classes))),
    # fewer proposals and sampled RoIs than COCO's 2000/1000/512: the
    # scenes hold 2-5 objects
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=300),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=None,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=8),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=30),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=max_iters,
         T_max=max_iters, eta_min=1e-4)
]
# gradient clipping: from random init the losses diverge to NaN without it
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=10, norm_type=2))
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval=max_iters, max_keep_ckpts=1),
    # plain-data checkpoints, loadable weights-only anywhere; resumable
    portable_checkpoint=dict(type='PortableCheckpointHook',
                             _scope_='mmselfemd'))
log_processor = dict(by_epoch=False)
custom_hooks = [dict(type='PretrainedBackboneCheckHook', _scope_='mmselfemd')]
randomness = dict(seed=0)
