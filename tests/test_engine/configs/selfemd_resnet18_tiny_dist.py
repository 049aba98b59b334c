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
    _base_.large_crop, crop_ratio_range=(1., 1.), aspect_ratio_range=(1., 1.))
views = _base_.train_pipeline[1]
train_pipeline = [
    _base_.train_pipeline[0],
    dict(
        views,
        transforms=[[full_crop],
                    [full_crop,
                     dict(type='RandomFlip', prob=1.,
                          direction='horizontal')]],
        small_view_crop=dict(views.small_view_crop, grid_sizes=(1, )),
        small_view_transforms=[]),
    _base_.train_pipeline[2],
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
max_iters = 4
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_iters, T_max=max_iters - 2),
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
