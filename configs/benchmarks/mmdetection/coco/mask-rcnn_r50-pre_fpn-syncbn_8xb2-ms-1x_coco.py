# Copyright (c) mmselfemd contributors. All rights reserved.
# Detection transfer: Mask R-CNN R50-FPN with MULTI-SCALE training, 1x:
# the setting of mmpretrain's self-supervised detection benchmark
# (mmpretrain 1.2.0, configs/byol/benchmarks/mask-rcnn_r50_fpn_ms-1x_coco.py,
# also used for MoCo, SimCLR, DenseCL ... in MMSelfSup's tables), so that
# its AP can be set beside published self-supervised results. Training
# images are resized to a random shorter side in {640, 672, ..., 800} (long
# side at most 1333); testing stays single-scale 1333x800.
#
# Everything else, including the refusal to start without the pretrained
# checkpoint (MMSELFEMD_PRETRAINED=PATH or
# --cfg-options model.backbone.init_cfg.checkpoint=PATH), is the 1x config's.
_base_ = './mask-rcnn_r50-pre_fpn-syncbn_8xb2-1x_coco.py'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='RandomChoiceResize',
        scales=[(1333, 640), (1333, 672), (1333, 704), (1333, 736),
                (1333, 768), (1333, 800)],
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
