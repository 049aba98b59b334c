# Copyright (c) mmselfemd contributors. All rights reserved.
# The demo's pretraining config, made tiny for the engine tests (resume,
# distributed equivalence, mixed precision): 64 px large views (2x2 C5
# nodes) with one 32 px SPC small view each (1x1, the SPC recipe of
# configs/_base_/datasets/coco_selfemd.py), narrow projector/predictor, 10
# Sinkhorn iterations, batch 4, SGD + cosine over 6 iterations,
# deterministic algorithms. Everything else is the demo's.
# The test hooks come from tests/test_engine/selfemd_test_hooks.py (that
# folder must be on PYTHONPATH). The data are generated demo scenes given with
#   --cfg-options train_dataloader.dataset.data_root=DIR
# Per-rank losses of every iteration are written to
# WORK_DIR/losses_rank{R}.jsonl by the test-only LossRecorderHook.
_base_ = [
    '../../../configs/selfemd/selfemd_resnet18_1xb32-coslr-100it_demo.py'
]
custom_imports = dict(
    imports=['selfemd_test_hooks'], allow_failed_imports=False)

max_iters = 6

narrow = dict(hid_channels=32, out_channels=16)
model = dict(
    neck=narrow,
    head=dict(predictor=dict(narrow, in_channels=16), num_iters=10),
    global_neck=narrow,
    global_head=dict(predictor=dict(narrow, in_channels=16)))

large_crop = dict(_base_.large_crop, scale=64)
view_pipeline1 = [large_crop] + _base_.view_pipeline1[1:]
view_pipeline2 = [large_crop] + _base_.view_pipeline2[1:]
spc_views = _base_.spc_train_pipeline[1]
train_pipeline = [
    dict(type='LoadImageRobust'),  # full-size decoding
    dict(
        spc_views,
        transforms=[view_pipeline1, view_pipeline2],
        small_view_crop=dict(spc_views.small_view_crop, size=32,
                             num_views=1)),
    _base_.spc_train_pipeline[-1],
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    dataset=dict(data_root='', pipeline=train_pipeline))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(_base_.param_scheduler[0], start_factor=0.1, end=2),
    dict(_base_.param_scheduler[1], begin=2, end=max_iters,
         T_max=max_iters - 2),
]
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(interval=2, max_keep_ckpts=-1))
custom_hooks = [
    dict(type='LossRecorderHook'),
    dict(type='PauseAtIterHook'),
    dict(type='ForgetDataStateHook'),
]
log_processor = dict(window_size=1, custom_cfg=[])
randomness = dict(deterministic=True)
