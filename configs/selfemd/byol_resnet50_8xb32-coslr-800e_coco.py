# Copyright (c) mmselfemd contributors. All rights reserved.
# Baseline: mmpretrain's own BYOL (global pooling, cosine loss) on COCO
# train2017 with the same two large views, optimiser and schedule as the
# Self-EMD default recipe, so detection transfer compares like with like.
# The model is assembled from the Self-EMD recipe's pieces (widths written
# once): its backbone, its global branch's projector as BYOL's neck and its
# predictor as BYOL's, with mmpretrain's loss (-cos).
_base_ = './selfemd_resnet50_8xb32-coslr-800e_coco.py'

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
# The data (coco_selfemd.py's default train_pipeline: the two large views)
# is the Self-EMD default's, unchanged.
