# Copyright (c) mmselfemd contributors. All rights reserved.
# The PASCAL VOC transfer protocol of MoCo and DenseCL (detectron2's
# pascal_voc_R_50_C4_24k config), without the model: train on VOC2007
# trainval + VOC2012 trainval (16,551 images), test on VOC2007 test (4,952),
# batch 16 (8 GPUs x 2), 24k iterations, SGD lr 0.02 with a 100-iteration
# linear warm-up and x0.1 at 18k and 22k, a random shorter side in
# {480, 512, ..., 800} for training (long side at most 1333), 800 for
# testing. Built on mmdet's VOCDataset (_base_/datasets/voc0712.py) and
# VOCMetric. Every difference from the peers' protocol is listed in
# docs/en/user_guides/detection_transfer.md.
#
# Data: data/VOCdevkit/ by default (VOC2007/, VOC2012/); elsewhere set
# MMSELFEMD_VOC_ROOT=/path/to/VOCdevkit/ (trailing slash). Check the tree
# first: python tools/misc/check_voc_folder.py data/VOCdevkit
_base_ = [
    'mmdet::_base_/datasets/voc0712.py', 'mmdet::_base_/default_runtime.py'
]

custom_imports = dict(
    imports=['mmselfemd.engine.hooks'], allow_failed_imports=False)

data_root = '{{$MMSELFEMD_VOC_ROOT:data/VOCdevkit/}}'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='RandomChoiceResize',
        scales=[(1333, s) for s in range(480, 801, 32)],
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    # after the resize, so that the boxes stay in the original image
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]


train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        # VOCDataset adds a different `dataset_type` to each metainfo
        ignore_keys=['dataset_type'],
        datasets=[
            dict(
                type='VOCDataset',
                data_root=data_root,
                ann_file=f'{year}/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root=f'{year}/'),
                filter_cfg=dict(filter_empty_gt=True, min_size=32),
                pipeline=train_pipeline) for year in ('VOC2007', 'VOC2012')
        ]))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='VOC2007/ImageSets/Main/test.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# The peers' AP (detectron2's PascalVOCDetectionEvaluator on VOC2007 test)
# is the VOC07 11-point AP averaged over IoU 0.50:0.05:0.95, and their AP50
# the 11-point AP at IoU 0.5. VOCMetric with these thresholds reports
# `voc_11pt/mAP` (that average), `voc_11pt/AP50`, `voc_11pt/AP75`, ...; the
# second metric does the same with the area under the PR curve (VOC2012's
# rule): `voc_area/mAP`, `voc_area/AP50`.
iou_thrs = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]
val_evaluator = [
    dict(
        type='VOCMetric',
        metric='mAP',
        iou_thrs=iou_thrs,
        eval_mode='11points',
        prefix='voc_11pt'),
    dict(
        type='VOCMetric',
        metric='mAP',
        iou_thrs=iou_thrs,
        eval_mode='area',
        prefix='voc_area'),
]
test_evaluator = val_evaluator

max_iters = 24000
# evaluated once, at the end, as detectron2's default EVAL_PERIOD 0
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iters,
        by_epoch=False,
        milestones=[18000, 22000],
        gamma=0.1)
]
# detectron2's solver: no weight decay on the norm layers
# (SOLVER.WEIGHT_DECAY_NORM = 0.0)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0.))
# 8 GPUs x 2 images; with another GPU count use --auto-scale-lr.
auto_scale_lr = dict(enable=False, base_batch_size=16)

default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4000),
    # checkpoints as plain data, loadable weights-only anywhere; resumable
    portable_checkpoint=dict(
        type='PortableCheckpointHook', _scope_='mmselfemd'))
log_processor = dict(by_epoch=False)
# Refuses a training run whose backbone (and, for C4, res5 in the RoI head)
# is not loaded from a checkpoint matching ResNet-50 key for key.
custom_hooks = [dict(type='PretrainedBackboneCheckHook', _scope_='mmselfemd')]
