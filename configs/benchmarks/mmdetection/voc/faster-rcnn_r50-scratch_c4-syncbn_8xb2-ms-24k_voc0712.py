# Copyright (c) mmselfemd contributors. All rights reserved.
# VOC transfer baseline: the same Faster R-CNN R50-C4 from RANDOM
# initialisation, backbone and res5 RoI head alike (no pretrained weights,
# no ImageNet). Everything else is the protocol of
# faster-rcnn_r50-pre_c4-syncbn_8xb2-ms-24k_voc0712.py.
_base_ = './faster-rcnn_r50-pre_c4-syncbn_8xb2-ms-24k_voc0712.py'

# init_cfg=None: mmdet's ResNet and ResLayer fall back to Kaiming/constant
model = dict(
    backbone=dict(init_cfg=None),
    roi_head=dict(shared_head=dict(init_cfg=None)))
custom_hooks = [
    dict(
        type='PretrainedBackboneCheckHook',
        _scope_='mmselfemd',
        allow_random_init=True)
]
