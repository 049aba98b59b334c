# Copyright (c) mmselfemd contributors. All rights reserved.
# The second transfer study's detection protocol (issue 16,
# projects/transfer_study/docs/study.md): the first study's Faster R-CNN
# R18-FPN on the study's scenes, with the pretraining's dilation kept: the last
# stage has stride 1 and dilation 2 (C5 at stride 16, as in pretraining,
# configs/selfemd/*_resnet18-d16_*), a "DC5" backbone under an FPN. C4 and C5
# are then both at stride 16: the FPN adds the upsampled top level to the next
# at the next one's size (it is already that size), P6 is pooled from P5
# (stride 32); the anchor generator and the RoI extractor are told the real
# strides, and the anchors keep the sizes of the stride-32 model (base sizes
# 4..64 x scale 8 = 32..512 px). The held-out split is set by the study runner
# (--cfg-options val_dataloader/val_evaluator).
_base_ = './faster-rcnn_r18-pre_fpn_1xb8-300it_scenes.py'

model = dict(
    backbone=dict(strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2)),
    rpn_head=dict(
        anchor_generator=dict(
            strides=[4, 8, 16, 16, 32], base_sizes=[4, 8, 16, 32, 64])),
    roi_head=dict(bbox_roi_extractor=dict(featmap_strides=[4, 8, 16, 16])))
