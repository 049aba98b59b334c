# Copyright (c) mmselfemd contributors. All rights reserved.
# The tiny Self-EMD config (selfemd_resnet18_tiny.py) trained by epochs, as
# the real recipe is: EpochBasedTrainLoop over 3 epochs of 2 iterations (16
# demo images, batch 8), DefaultSampler (shuffle), 2 dataloader workers
# started again every epoch and seeded by epoch (mmselfemd's
# epoch_worker_init_fn, as in configs/_base_/datasets/coco_selfemd.py), a
# checkpoint every epoch. For the exact-resume test at an epoch boundary.
_base_ = ['./selfemd_resnet18_tiny.py']

max_epochs = 3
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    worker_init_fn=dict(type='mmselfemd.epoch_worker_init_fn'))
train_cfg = dict(
    _delete_=True, type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=True, interval=1,
        max_keep_ckpts=-1))
log_processor = dict(by_epoch=True)
