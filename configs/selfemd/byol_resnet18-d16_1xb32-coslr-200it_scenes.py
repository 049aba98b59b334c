# Copyright (c) mmselfemd contributors. All rights reserved.
# The transfer study's BYOL baseline: mmpretrain's own BYOL (global pooling,
# MLP projector/predictor, cosine loss) with everything else as in
# selfemd_resnet18-d16_1xb32-coslr-200it_scenes.py: the same dilated
# half-width ResNet-18, the same two 112 px large views (no small views:
# mmpretrain's BYOL compares two views), projector/predictor widths,
# optimiser, schedule, batch and momentum. Its loss is mmpretrain's (-cos
# per pair, summed over both directions and x2: 2 * (l(1,2) + l(2,1)), in
# [-4, 4]).
_base_ = './selfemd_resnet18-d16_1xb32-coslr-200it_scenes.py'

model = dict(
    _delete_=True,
    type='BYOL',
    base_momentum=0.01,
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=18,
        stem_channels=32,
        base_channels=32,
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        out_indices=(3, ),
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),
    neck=dict(
        type='NonLinearNeck',
        in_channels=256,
        hid_channels=1024,
        out_channels=256,
        num_layers=2,
        with_bias=True,
        with_last_bn=False,
        with_avg_pool=True,
        norm_cfg=dict(type='BN1d')),
    head=dict(
        type='LatentPredictHead',
        predictor=dict(
            type='NonLinearNeck',
            in_channels=256,
            hid_channels=1024,
            out_channels=256,
            num_layers=2,
            with_bias=True,
            with_last_bn=False,
            with_avg_pool=False,
            norm_cfg=dict(type='BN1d')),
        loss=dict(type='CosineSimilarityLoss')))

train_pipeline = [
    dict(type='LoadImageRobust'),
    dict(
        type='MultiViewWithBoxes',
        num_views=[1, 1],
        transforms=[{{_base_.view_pipeline1}}, {{_base_.view_pipeline2}}]),
    dict(type='PackMultiViewInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
