# Copyright (c) mmselfemd contributors. All rights reserved.
# The tiny Self-EMD config (selfemd_resnet18_tiny.py) trained by epochs, as
# the real recipe is: EpochBasedTrainLoop over 3 epochs of 2 iterations (16
# demo images, batch 8), DefaultSampler (shuffle), 2 dataloader workers
# started again every epoch and seeded by epoch (mmselfemd's
# epoch_worker_init_fn, persistent_workers=False and drop_last, all from
# configs/_base_/datasets/coco_selfemd.py), a checkpoint every epoch. For
# the exact-resume test at an epoch boundary.
_base_ = ['./selfemd_resnet18_tiny.py']

max_epochs = 3
train_dataloader = dict(
    batch_size=8, num_workers=2, sampler=dict(type='DefaultSampler'))
train_cfg = dict(
    _delete_=True, type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(checkpoint=dict(by_epoch=True, interval=1))
log_processor = dict(by_epoch=True)
