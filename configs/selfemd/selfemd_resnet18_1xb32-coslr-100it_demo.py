# Copyright (c) mmselfemd contributors. All rights reserved.
# The demo's pretraining (tools/run_demo.py): Self-EMD on a ResNet-18 over
# the generated demo scenes (224 px), in minutes on a CPU. Same model, loss
# and views as the default recipe (two large views, no small views, eps 0.1
# relative to the centred cost's spread with 30 Sinkhorn iterations:
# docs/en/advanced_guides/model.md), scaled down: 128 px large views (4x4
# C5 nodes), narrower projector/predictor, BN, batch 32, LARS + cosine over
# 100 iterations. Measured: about 3 min 50 s of pretraining in the demo on
# 2 idle CPU cores (bash tools/demo.sh from a fresh clone of 1eb069e,
# 2026-12-05; projects/benchmarks/records.md, "End-to-end demo").
_base_ = [
    '../_base_/models/selfemd_resnet50.py',
    '../_base_/datasets/coco_selfemd.py',
    '../_base_/default_runtime.py',
]

data_root = '{{$MMSELFEMD_DEMO_DATA:work_dirs/demo/data/}}'
norm_cfg = dict(type='BN')
max_iters = 100

model = dict(
    backbone=dict(depth=18, norm_cfg=norm_cfg),
    neck=dict(in_channels=512, hid_channels=1024, norm_cfg=norm_cfg),
    head=dict(predictor=dict(hid_channels=1024, norm_cfg=norm_cfg)),
    # the global branch works on pooled vectors: 1-d BN
    global_neck=dict(
        in_channels=512, hid_channels=1024, norm_cfg=dict(type='BN1d')),
    global_head=dict(
        predictor=dict(hid_channels=1024, norm_cfg=dict(type='BN1d'))))

large_crop = dict(
    type='RandomResizedCropWithBox',
    scale=128,
    crop_ratio_range=(0.2, 1.),
    interpolation='bicubic',
    downscale_interpolation='area',
    backend='cv2')
view_pipeline1 = [large_crop] + _base_.view_pipeline1[1:]
view_pipeline2 = [large_crop] + _base_.view_pipeline2[1:]
train_pipeline = [
    dict(type='LoadImageRobust'),
    dict(
        type='MultiViewWithBoxes',
        num_views=[1, 1],
        transforms=[view_pipeline1, view_pipeline2]),
    dict(type='PackMultiViewInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    pin_memory=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/image_info_pretrain.json',
        data_prefix=dict(img=''),
        pipeline=train_pipeline))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=0.6, momentum=0.9, weight_decay=1.5e-6),
    paramwise_cfg=dict(
        custom_keys={
            'bn': dict(decay_mult=0, lars_exclude=True),
            'bias': dict(decay_mult=0, lars_exclude=True),
            'downsample.1': dict(decay_mult=0, lars_exclude=True),
        }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=10),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=10, end=max_iters,
         T_max=max_iters - 10)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=max_iters,
        max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
