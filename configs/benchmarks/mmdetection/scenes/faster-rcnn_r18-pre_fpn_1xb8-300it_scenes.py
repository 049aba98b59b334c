# Copyright (c) mmselfemd contributors. All rights reserved.
# The first transfer study's detection protocol
# (projects/transfer_study/configs/,
# projects/transfer_study/docs/study_first.md): the demo's Faster R-CNN R18-FPN
# fine-tuning (all stages trained, BN, SGD + cosine, gradient clipping) with
# the study's half-width ResNet-18 (stem/base channels 32, as pretrained) on
# its generated scenes, resized to 160 px (224 px scenes: objects of 35-80 px),
# for 300 iterations x 8 images, evaluated on the 300 held-out scenes. The
# backbone is given with --cfg-options model.backbone.init_cfg.checkpoint=PATH
# (the study runner does it); without one the run refuses to start.
_base_ = '../demo/faster-rcnn_r18-pre_fpn_1xb8-150it_demo.py'

data_root = '{{$MMSELFEMD_STUDY_DATA:work_dirs/study/data/}}'
img_scale = (160, 160)
max_iters = 300

model = dict(
    backbone=dict(base_channels=32),
    neck=dict(in_channels=[32, 64, 128, 256]))

# the demo's pipelines at the study's image size
train_pipeline = [
    dict(t, scale=img_scale) if t['type'] == 'Resize' else t
    for t in _base_.train_pipeline
]
test_pipeline = [
    dict(t, scale=img_scale) if t['type'] == 'Resize' else t
    for t in _base_.test_pipeline
]
train_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=30),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=max_iters,
         T_max=max_iters, eta_min=1e-4)
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
