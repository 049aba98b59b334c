# Copyright (c) mmselfemd contributors. All rights reserved.
# The second transfer study's baseline: the dilated-C5 fine-tuning of
# faster-rcnn_r18-d16-pre_fpn_1xb8-300it_scenes.py from RANDOM init.
_base_ = './faster-rcnn_r18-d16-pre_fpn_1xb8-300it_scenes.py'

model = dict(backbone=dict(init_cfg=None))
custom_hooks = [
    dict(
        type='PretrainedBackboneCheckHook',
        _scope_='mmselfemd',
        allow_random_init=True)
]
