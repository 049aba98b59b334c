# Copyright (c) mmselfemd contributors. All rights reserved.
"""Time whole training steps of models, alternating between them."""
import statistics
from typing import Dict, List, Optional

import torch

from .time_calls import time_step


def median_or_none(values: List[float]) -> Optional[float]:
    """The median of ``values``, None for none.

    Args:
        values (list[float]): Numbers.

    Returns:
        float, optional: Their median.
    """
    return statistics.median(values) if values else None


def _loss_finite(log_vars: dict) -> bool:
    return bool(torch.isfinite(torch.as_tensor(log_vars['loss'])).all())


def measure_steps(models: Dict[str, torch.nn.Module],
                  optims: Dict[str, object],
                  batches: Dict[str, dict],
                  device: torch.device,
                  warmup: int,
                  repeats: int) -> Dict[str, dict]:
    """Time training steps (``model.train_step``) of one or more models.

    A step is what the runner does per iteration: data preprocessing,
    forward, backward and the optimizer update. After ``warmup`` untimed
    steps of each model, ``repeats`` rounds follow in which every model
    takes one timed step (:func:`time_step`: wall clock, synchronised on
    CUDA, and CPU time), in the order of ``models`` in even rounds and
    reversed in odd ones, so that drifts of the machine hit all alike. On
    CUDA the peak memory of each step is recorded too.

    Args:
        models (dict[str, torch.nn.Module]): The models, by name.
        optims (dict[str, OptimWrapper]): Their optimizer wrappers.
        batches (dict[str, dict]): Their batches (as the dataloader hands
            them to ``train_step``).
        device (torch.device): Where the models are.
        warmup (int): Untimed steps per model.
        repeats (int): Timed steps per model.

    Returns:
        dict[str, dict]: Per model: ``wall_s`` and ``cpu_s`` (seconds of
        each timed step), ``peak_mb`` (the largest
        ``torch.cuda.max_memory_allocated`` during a step, all models
        resident; None off CUDA), ``step_mb`` (its largest part above what
        was allocated before the step; None off CUDA) and
        ``nonfinite_losses`` (timed steps whose loss was not finite).
    """
    cuda = torch.device(device).type == 'cuda'
    names = list(models)
    out = {
        name: dict(wall_s=[], cpu_s=[], peak_mb=0.0 if cuda else None,
                   step_mb=0.0 if cuda else None, nonfinite_losses=0)
        for name in names
    }
    for _ in range(warmup):
        for name in names:
            models[name].train_step(batches[name], optims[name])
    for r in range(repeats):
        for name in (names if r % 2 == 0 else names[::-1]):
            rec = out[name]
            if cuda:
                torch.cuda.reset_peak_memory_stats(device)
                resident = torch.cuda.memory_allocated(device) / 2**20
            log_vars = {}

            def step(name=name, log_vars=log_vars):
                log_vars.update(models[name].train_step(
                    batches[name], optims[name]))

            wall, cpu = time_step(step, device)
            rec['wall_s'].append(wall)
            rec['cpu_s'].append(cpu)
            if cuda:
                peak = torch.cuda.max_memory_allocated(device) / 2**20
                rec['peak_mb'] = max(rec['peak_mb'], peak)
                rec['step_mb'] = max(rec['step_mb'], peak - resident)
            rec['nonfinite_losses'] += not _loss_finite(log_vars)
    return out
