# Copyright (c) mmselfemd contributors. All rights reserved.
# Detection transfer baseline: the same Faster R-CNN R50-FPN 1x from RANDOM
# initialisation (no pretrained backbone, no ImageNet). Compare pretrained
# checkpoints against this run of the same pipeline.
_base_ = './faster-rcnn_r50-pre_fpn-syncbn_8xb2-1x_coco.py'

# init_cfg=None: mmdet's ResNet falls back to Kaiming/constant init.
model = dict(backbone=dict(init_cfg=None))
custom_hooks = [
    dict(
        type='PretrainedBackboneCheckHook',
        _scope_='mmselfemd',
        allow_random_init=True)
]
