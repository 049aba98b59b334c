# Copyright (c) mmselfemd contributors. All rights reserved.
# A tiny Self-EMD pretraining config for the engine tests (resume,
# distributed equivalence, mixed precision): ResNet-18, 64 px large views
# (2x2 C5 nodes), 32 px SPC small views (1x1), narrow projector/predictor,
# batch 4, SGD + cosine over 6 iterations, deterministic algorithms.
# The test hooks come from tests/test_engine/selfemd_test_hooks.py (that
# folder must be on PYTHONPATH). The data are generated demo scenes given with
#   --cfg-options train_dataloader.dataset.data_root=DIR
# Per-rank losses of every iteration are written to
# WORK_DIR/losses_rank{R}.jsonl by the test-only LossRecorderHook.
_base_ = [
    '../../../configs/_base_/models/selfemd_resnet50.py',
    '../../../configs/_base_/datasets/coco_selfemd.py',
    '../../../configs/_base_/default_runtime.py',
]
custom_imports = dict(
    imports=['selfemd_test_hooks'], allow_failed_imports=False)

norm_cfg = dict(type='BN')
max_iters = 6

model = dict(
    backbone=dict(depth=18, norm_cfg=norm_cfg),
    neck=dict(
        in_channels=512, hid_channels=32, out_channels=16,
        norm_cfg=norm_cfg),
    head=dict(
        predictor=dict(
            in_channels=16, hid_channels=32, out_channels=16,
            norm_cfg=norm_cfg),
        num_iters=10),
    global_neck=dict(
        in_channels=512, hid_channels=32, out_channels=16,
        norm_cfg=dict(type='BN1d')),
    global_head=dict(
        predictor=dict(
            in_channels=16, hid_channels=32, out_channels=16,
            norm_cfg=dict(type='BN1d'))))

large_crop = dict(
    type='RandomResizedCropWithBox',
    scale=64,
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
        transforms=[view_pipeline1, view_pipeline2],
        small_view_crop=dict(
            type='SpatialPyramidCrop', size=32, grid_sizes=(2, 3),
            num_views=1),
        small_view_transforms={{_base_.small_view_pipeline}}),
    dict(type='PackMultiViewInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    pin_memory=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        data_root='',
        ann_file='annotations/image_info_pretrain.json',
        data_prefix=dict(img=''),
        pipeline=train_pipeline))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=2, end=max_iters,
         T_max=max_iters - 2)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=2,
        max_keep_ckpts=-1))
custom_hooks = [
    dict(type='LossRecorderHook'),
    dict(type='PauseAtIterHook'),
    dict(type='ForgetDataStateHook'),
]
log_processor = dict(by_epoch=False, window_size=1, custom_cfg=[])
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0, deterministic=True)
