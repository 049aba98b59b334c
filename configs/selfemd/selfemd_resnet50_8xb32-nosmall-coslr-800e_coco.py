# Copyright (c) mmselfemd contributors. All rights reserved.
# Ablation: two large views only (no small views, no spatial pyramid
# cropping).
_base_ = './selfemd_resnet50_8xb32-coslr-800e_coco.py'

train_pipeline = [
    dict(type='LoadImageRobust'),
    dict(
        type='MultiViewWithBoxes',
        num_views=[1, 1],
        transforms=[{{_base_.view_pipeline1}}, {{_base_.view_pipeline2}}]),
    dict(type='PackMultiViewInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
