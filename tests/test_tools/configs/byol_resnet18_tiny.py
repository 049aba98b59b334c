# Copyright (c) mmselfemd contributors. All rights reserved.
# The BYOL baseline (configs/selfemd/byol_resnet50_8xb32-coslr-800e_coco.py)
# made tiny for the tools/ tests: a ResNet-18 with plain BN, a narrow
# projector/predictor, SGD, 2 iterations of batch 2 on 32x32 views.
# The data are a folder of images given with
#   --cfg-options train_dataloader.dataset.data_root=DIR
# read by mmpretrain's CustomDataset and pipeline; the dataloader sets no
# persistent_workers or pin_memory, for the tests of the defaults that
# tools/train.py fills in.
_base_ = ['../../../configs/selfemd/byol_resnet50_8xb32-coslr-800e_coco.py']

narrow = dict(hid_channels=16, out_channels=8, norm_cfg=dict(type='BN1d'))
model = dict(
    backbone=dict(depth=18, norm_cfg=dict(type='BN')),
    neck=dict(narrow, in_channels=512),
    head=dict(predictor=dict(narrow, in_channels=8)))

view_pipeline = [
    dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.5, 1.)),
    dict(type='RandomFlip', prob=0.5),
]
train_dataloader = dict(
    _delete_=True,
    batch_size=2,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='CustomDataset',
        data_root='',
        with_label=False,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
            dict(type='PackInputs'),
        ]))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2)
param_scheduler = []
auto_scale_lr = dict(base_batch_size=4)
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(interval=2, by_epoch=False))
log_processor = dict(by_epoch=False)
