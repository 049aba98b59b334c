# Copyright (c) mmselfemd contributors. All rights reserved.
# Self-EMD default recipe: ResNet-50, COCO train2017 (no labels), 8 GPUs x
# 32 images, LARS + cosine, 800 epochs (the peers' COCO setting: DenseCL,
# ORL, SlotCon). Two 224 px views, no small views (the SPC ablation config
# adds them), eps 0.1 relative to the centred cost's spread with 30 Sinkhorn
# iterations (docs/en/advanced_guides/emd.md,
# projects/transfer_study/docs/study.md). Paper facts vs our choices:
# docs/en/advanced_guides/model.md.
_base_ = [
    '../_base_/models/selfemd_resnet50.py',
    '../_base_/datasets/coco_selfemd.py',
    '../_base_/schedules/lars_coslr-800e.py',
    '../_base_/default_runtime.py',
]
