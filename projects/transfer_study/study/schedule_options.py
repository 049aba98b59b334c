# Copyright (c) mmselfemd contributors. All rights reserved.
"""cfg-options that run a config for another number of iterations."""
from typing import Dict, List


def schedule_options(config: str, options: Dict[str, object],
                     iters: int) -> List[str]:
    """cfg-options that run ``config`` for ``iters`` iterations.

    Sets ``train_cfg.max_iters`` and rescales every iteration-based
    parameter scheduler by ``iters / max_iters`` (``begin``, ``end`` and
    ``T_max``), so a shorter or longer run keeps the config's schedule
    shape (e.g. warm-up for the first 3 %, then cosine to the end).

    Args:
        config (str): Config file.
        options (dict): cfg-options applied before (a variant's).
        iters (int): The new number of iterations.

    Returns:
        list[str]: ``key=value`` strings for ``--cfg-options``.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(dict(options))
    old = cfg.train_cfg.get('max_iters')
    if old is None:
        raise ValueError(f'{config}: the study needs an iteration-based '
                         'train_cfg (train_cfg.max_iters)')
    opts = [f'train_cfg.max_iters={iters}']
    scheds = cfg.get('param_scheduler') or []
    if isinstance(scheds, dict):
        scheds = [scheds]
    for i, s in enumerate(scheds):
        if s.get('by_epoch', True):
            continue
        begin = round(s.get('begin', 0) * iters / old)
        end = max(begin + 1, round(s.get('end', old) * iters / old))
        opts += [f'param_scheduler.{i}.begin={begin}',
                 f'param_scheduler.{i}.end={end}']
        if 'T_max' in s:
            opts.append(f'param_scheduler.{i}.T_max={end - begin}')
    return opts
