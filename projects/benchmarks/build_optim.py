# Copyright (c) mmselfemd contributors. All rights reserved.
"""The optimizer wrapper of a training-step benchmark."""
import copy
from typing import Optional

import torch

from .project_path import project_path

SCHEDULE_CFG = project_path('configs', '_base_', 'schedules',
                            'lars_coslr-800e.py')


def schedule_optim_cfg(schedule_cfg: str = SCHEDULE_CFG) -> dict:
    """``optim_wrapper`` of a schedule config (LARS with BYOL's rules).

    Args:
        schedule_cfg (str): Config file. Defaults to
            ``configs/_base_/schedules/lars_coslr-800e.py``.

    Returns:
        dict: The ``optim_wrapper`` config.
    """
    from mmengine.config import Config
    return Config.fromfile(schedule_cfg).optim_wrapper.to_dict()


def build_optim(model: torch.nn.Module,
                optim_cfg: Optional[dict] = None,
                dtype: Optional[str] = None):
    """The optimizer wrapper of the real schedule, optionally with AMP.

    Args:
        model (torch.nn.Module): The model.
        optim_cfg (dict, optional): ``optim_wrapper`` config; None reads
            ``configs/_base_/schedules/lars_coslr-800e.py``.
        dtype (str, optional): None for full precision, else the autocast
            dtype (``'float16'`` or ``'bfloat16'``) of mmselfemd's
            :class:`~mmselfemd.engine.optimizers.CPUAmpOptimWrapper`:
            mmengine's ``AmpOptimWrapper`` (dynamic loss scaling) where a
            CUDA device is available, bfloat16 without loss scaling where
            none is.

    Returns:
        OptimWrapper: The wrapper.
    """
    from mmengine.optim import build_optim_wrapper

    from mmselfemd.engine.optimizers import CPUAmpOptimWrapper
    cfg = copy.deepcopy(optim_cfg or schedule_optim_cfg())
    if dtype is not None:
        cfg.update(type=CPUAmpOptimWrapper, dtype=dtype)
    return build_optim_wrapper(model, cfg)
