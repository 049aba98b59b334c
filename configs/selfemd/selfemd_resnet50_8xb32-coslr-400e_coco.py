# Copyright (c) mmselfemd contributors. All rights reserved.
# Ablation: half the schedule (400 epochs).
_base_ = './selfemd_resnet50_8xb32-coslr-800e_coco.py'

max_epochs = 400
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
train_cfg = dict(max_epochs=max_epochs)
