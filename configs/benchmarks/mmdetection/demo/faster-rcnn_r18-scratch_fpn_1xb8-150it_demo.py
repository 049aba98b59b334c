# Copyright (c) mmselfemd contributors. All rights reserved.
# The demo's baseline: the same fine-tuning from RANDOM initialisation.
_base_ = './faster-rcnn_r18-pre_fpn_1xb8-150it_demo.py'

model = dict(backbone=dict(init_cfg=None))
custom_hooks = [
    dict(
        type='PretrainedBackboneCheckHook',
        _scope_='mmselfemd',
        allow_random_init=True)
]
