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

# mmpretrain's BYOL assembled from the Self-EMD recipe's own pieces, so the
# widths are written once (in the Self-EMD configs): the same backbone, its
# global branch's projector as BYOL's neck and its predictor as BYOL's, with
# mmpretrain's loss (-cos) instead of our 2 - 2 cos scale.
model = dict(
    _delete_=True,
    type='BYOL',
    base_momentum=_base_.model.base_momentum,
    data_preprocessor=_base_.model.data_preprocessor,
    backbone=_base_.model.backbone,
    neck=_base_.model.global_neck,
    head=dict(
        type='LatentPredictHead',
        predictor=_base_.model.global_head.predictor,
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
