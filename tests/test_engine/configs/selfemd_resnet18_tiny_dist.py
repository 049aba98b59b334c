# Copyright (c) mmselfemd contributors. All rights reserved.
# The tiny config for the distributed-equivalence test: 2 processes x
# batch 2 must compute what 1 process x batch 4 computes.
# - Norm layers: GroupNorm. BN (and SyncBN, which needs CUDA) normalises
#   with per-process batch statistics on CPU, so 2 x 2 and 1 x 4 differ by
#   design; GN is per sample. With SyncBN on GPUs the statistics are over
#   the global batch, which is what the GN model checks here: that DDP
#   averages gradients over processes, the EMA target and the schedules
#   follow, and the sampler splits the same samples over ranks.
# - Augmentations: deterministic (full-image crop, view 2 flipped, 1x1
#   SPC grid, no colour/blur/solarize), because random augmentations draw
#   from per-process random streams, so the same image gets different
#   views in the two setups.
_base_ = ['./selfemd_resnet18_tiny.py']

norm_cfg = dict(type='GN', num_groups=4)
model = dict(
    backbone=dict(norm_cfg=norm_cfg),
    neck=dict(norm_cfg=norm_cfg),
    head=dict(predictor=dict(norm_cfg=norm_cfg)),
    global_neck=dict(norm_cfg=norm_cfg),
    global_head=dict(predictor=dict(norm_cfg=norm_cfg)))

full_crop = dict(
    type='RandomResizedCropWithBox',
    scale=64,
    crop_ratio_range=(1., 1.),
    aspect_ratio_range=(1., 1.),
    interpolation='bicubic',
    downscale_interpolation='area',
    backend='cv2')
train_pipeline = [
    dict(type='LoadImageRobust'),
    dict(
        type='MultiViewWithBoxes',
        num_views=[1, 1],
        transforms=[[full_crop],
                    [full_crop,
                     dict(type='RandomFlip', prob=1.,
                          direction='horizontal')]],
        small_view_crop=dict(
            type='SpatialPyramidCrop', size=32, grid_sizes=(1, ),
            num_views=1),
        small_view_transforms=[]),
    dict(type='PackMultiViewInputs'),
]
train_dataloader = dict(
    batch_size=4, dataset=dict(pipeline=train_pipeline))
max_iters = 4
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=2, end=max_iters,
         T_max=max_iters - 2)
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
