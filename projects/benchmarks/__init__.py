# Copyright (c) mmselfemd contributors. All rights reserved.
"""Benchmarks of Self-EMD: timing, training steps, EMD solvers.

Library code of the command lines in ``projects/benchmarks/tools/``
(``benchmark_emd.py``, ``benchmark_step.py``, ``benchmark_pipeline.py``)
and of the GPU check (``projects/gpu_check/``); see ``README.md``.
Nothing here imports ``mmselfemd.models``, mmpretrain or mmcv at import
time (the functions do): the GPU check first makes mmdet and mmcv's
compiled ops unimportable.
"""
from .build_optim import SCHEDULE_CFG, build_optim, schedule_optim_cfg
from .build_step_models import (
    BYOL_CFG,
    SELFEMD_MODEL_CFG,
    adapt_depth,
    build_model,
    build_step_models,
    load_model_cfgs,
    mmpretrain_byol_cfg,
    set_max_iters,
)
from .compare_emd_solvers import (
    HAS_GEOMLOSS,
    HAS_POT,
    compare_emd_solvers,
    default_num_iters,
    exact_emd,
    make_emd_problem,
    rel_error,
)
from .make_batch import make_batch
from .make_coco_size_jpegs import make_coco_size_jpegs
from .measure_steps import measure_steps, median_or_none
from .project_path import project_path
from .sweep_emd_solver import sweep_emd_solver
from .time_calls import cuda_event_seconds, time_calls, time_step

__all__ = [
    'BYOL_CFG', 'HAS_GEOMLOSS', 'HAS_POT', 'SCHEDULE_CFG',
    'SELFEMD_MODEL_CFG', 'adapt_depth', 'build_model', 'build_optim',
    'build_step_models', 'compare_emd_solvers', 'cuda_event_seconds',
    'default_num_iters', 'exact_emd', 'load_model_cfgs', 'make_batch',
    'make_coco_size_jpegs', 'make_emd_problem', 'measure_steps',
    'median_or_none', 'mmpretrain_byol_cfg', 'project_path', 'rel_error',
    'schedule_optim_cfg', 'set_max_iters', 'sweep_emd_solver',
    'time_calls', 'time_step'
]
