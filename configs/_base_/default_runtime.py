# Copyright (c) mmselfemd contributors. All rights reserved.
default_scope = 'mmselfemd'

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # checkpoints as plain data: they load weights-only (torch's default)
    # without mmselfemd installed; restores the logged history on resume
    portable_checkpoint=dict(type='PortableCheckpointHook'),
    # spatial-collapse diagnostic of the online backbone's last map
    # (node_cos in the log; the same for Self-EMD and BYOL configs)
    node_cos=dict(type='NodeCosineHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

log_processor = dict(
    window_size=10,
    custom_cfg=[dict(data_src='', method='mean', window_size='global')])

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
