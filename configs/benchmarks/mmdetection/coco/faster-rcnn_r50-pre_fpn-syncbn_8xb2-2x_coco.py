# Copyright (c) mmselfemd contributors. All rights reserved.
# Detection transfer: Faster R-CNN R50-FPN, 2x (24 epochs). Everything but
# the schedule (mmdet's schedule_2x) is the 1x config's, including the
# refusal to start without a pretrained checkpoint.
_base_ = './faster-rcnn_r50-pre_fpn-syncbn_8xb2-1x_coco.py'

train_cfg = dict(max_epochs=24)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=24,
        by_epoch=True,
        milestones=[16, 22],
        gamma=0.1)
]
