# Copyright (c) mmselfemd contributors. All rights reserved.
# Baseline: mmpretrain's own BYOL (global pooling, cosine loss) on COCO
# train2017 with the same two large views, optimiser and schedule as the
# Self-EMD default recipe, so detection transfer compares like with like.
_base_ = [
    '../_base_/datasets/coco_selfemd.py',
    '../_base_/schedules/lars_coslr-800e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='BYOL',
    base_momentum=0.01,
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='ResNet',
        depth=50,
        norm_cfg=dict(type='SyncBN'),
        zero_init_residual=False),
    neck=dict(
        type='NonLinearNeck',
        in_channels=2048,
        hid_channels=4096,
        out_channels=256,
        num_layers=2,
        with_bias=True,
        with_last_bn=False,
        with_avg_pool=True),
    head=dict(
        type='LatentPredictHead',
        predictor=dict(
            type='NonLinearNeck',
            in_channels=256,
            hid_channels=4096,
            out_channels=256,
            num_layers=2,
            with_bias=True,
            with_last_bn=False,
            with_avg_pool=False),
        loss=dict(type='CosineSimilarityLoss')),
)
# The data (coco_selfemd.py's default train_pipeline: the two large views)
# is the Self-EMD default's, unchanged.
