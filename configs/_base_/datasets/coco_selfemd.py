# Copyright (c) mmselfemd contributors. All rights reserved.
# Self-EMD pretraining data: COCO train2017 without labels.
# Default (train_pipeline): two 224 px large views with BYOL's asymmetric
# augmentations (view 1: blur always, no solarize; view 2: blur 0.1,
# solarize 0.2). spc_train_pipeline adds, per large view, two 96 px small
# views cut on a 2x2 / 3x3 spatial pyramid (SPC) inside it, the small views
# that secondary summaries of the paper report; they are off by default
# because the transfer study found them harmful
# (projects/transfer_study/docs/study_first.md, row no-small vs selfemd; the
# SPC ablation config keeps them). Crop scale, grids, small-view count/size
# and small-view augmentations are our choices (see
# docs/en/user_guides/dataset_prepare.md); the packed data samples carry
# crop_boxes, flips and parent for every view.
dataset_type = 'CocoUnlabeledDataset'
data_root = 'data/coco/'

data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

large_crop = dict(
    type='RandomResizedCropWithBox',
    scale=224,
    crop_ratio_range=(0.08, 1.),
    interpolation='bicubic',
    downscale_interpolation='area',
    backend='cv2')
color_jitter = dict(
    type='RandomApply',
    transforms=[
        dict(
            type='FastColorJitter',
            brightness=0.4,
            contrast=0.4,
            saturation=0.2,
            hue=0.1)
    ],
    prob=0.8)
grayscale = dict(
    type='RandomGrayscale',
    prob=0.2,
    keep_channels=True,
    channel_weights=(0.114, 0.587, 0.2989))
flip = dict(type='RandomFlip', prob=0.5, direction='horizontal')

view_pipeline1 = [
    large_crop, flip, color_jitter, grayscale,
    dict(
        type='FastGaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=1.),
    dict(type='Solarize', thr=128, prob=0.),
]
view_pipeline2 = [
    large_crop, flip, color_jitter, grayscale,
    dict(
        type='FastGaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=0.1),
    dict(type='Solarize', thr=128, prob=0.2),
]
# Small views are online-only: flip + colour, blur half of the time.
small_view_pipeline = [
    flip, color_jitter, grayscale,
    dict(
        type='FastGaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=0.5),
]
spc = dict(
    type='SpatialPyramidCrop', size=96, grid_sizes=(2, 3), num_views=2)

spc_train_pipeline = [
    # Decode JPEGs at 1/2..1/8 size only when even the smallest crop keeps
    # 288 = 3 x 96 decoded pixels per side (never for COCO's 640 px images).
    dict(
        type='LoadImageRobust',
        reduce_decode=dict(
            crop_ratio_min=0.08,
            aspect_ratio_range=(3. / 4., 4. / 3.),
            min_decoded_side=288)),
    dict(
        type='MultiViewWithBoxes',
        num_views=[1, 1],
        transforms=[view_pipeline1, view_pipeline2],
        small_view_crop=spc,
        small_view_transforms=small_view_pipeline),
    dict(type='PackMultiViewInputs'),
]
train_pipeline = [
    # reduced-size decoding only when the smallest crop keeps 224 px
    dict(
        type='LoadImageRobust',
        reduce_decode=dict(
            crop_ratio_min=0.08,
            aspect_ratio_range=(3. / 4., 4. / 3.),
            min_decoded_side=224)),
    dict(
        type='MultiViewWithBoxes',
        num_views=[1, 1],
        transforms=[view_pipeline1, view_pipeline2]),
    dict(type='PackMultiViewInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    # Workers are started again every epoch and seeded from (seed, rank,
    # worker, epoch): each epoch draws its own augmentations, and a run
    # resumed at an epoch boundary draws the same ones as an uninterrupted
    # run. Persistent workers would keep one stream across epochs, which a
    # resume cannot restore; mmengine's default worker_init_fn (no epoch
    # term) would replay the same stream every epoch.
    persistent_workers=False,
    worker_init_fn=dict(type='mmselfemd.epoch_worker_init_fn'),
    pin_memory=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        # Only the top-level "images" list is parsed (it precedes the
        # annotations, which are never decoded); labels are not used.
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=train_pipeline))
