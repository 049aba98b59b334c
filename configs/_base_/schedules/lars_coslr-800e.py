# Copyright (c) mmselfemd contributors. All rights reserved.
# LARS, lr 0.3 x batch / 256, weight decay 1.5e-6, 10 warm-up epochs then
# cosine; BN and bias excluded from weight decay and LARS adaptation (our
# choice, BYOL's recipe scaled to COCO; the paper's is not published).
optimizer = dict(type='LARS', lr=0.3, momentum=0.9, weight_decay=1.5e-6)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=optimizer,
    paramwise_cfg=dict(
        custom_keys={
            'bn': dict(decay_mult=0, lars_exclude=True),
            'bias': dict(decay_mult=0, lars_exclude=True),
            # BN layer in the ResNet downsample branch
            'downsample.1': dict(decay_mult=0, lars_exclude=True),
        }))

max_epochs = 800
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 10,
        by_epoch=True,
        begin=10,
        end=max_epochs,
        convert_to_iter_based=True)
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
# lr above is for a total batch of 256 (8 GPUs x 32); `--auto-scale-lr`
# scales it linearly to the actual batch.
auto_scale_lr = dict(base_batch_size=256)
