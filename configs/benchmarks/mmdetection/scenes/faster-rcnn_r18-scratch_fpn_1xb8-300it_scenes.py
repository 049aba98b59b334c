# Copyright (c) mmselfemd contributors. All rights reserved.
# The transfer study's baseline: the same fine-tuning from RANDOM init.
_base_ = './faster-rcnn_r18-pre_fpn_1xb8-300it_scenes.py'

model = dict(backbone=dict(init_cfg=None))
custom_hooks = [
    dict(
        type='PretrainedBackboneCheckHook',
        _scope_='mmselfemd',
        allow_random_init=True)
]
