# Copyright (c) mmselfemd contributors. All rights reserved.
"""A dataloader worker init function that seeds by epoch, for exact resume.

mmengine's ``default_worker_init_fn`` seeds every worker with
``num_workers * rank + worker_id + seed``: without an epoch term, workers
that are started again (every epoch with ``persistent_workers=False``, or
after a resume) replay the same augmentation random stream. This function
adds the epoch, so each epoch gets its own stream, and a run resumed at an
epoch boundary draws the same augmentations as the uninterrupted run.
"""
import random
import warnings
from typing import Optional

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.logging import MessageHub
from torch.utils.data import get_worker_info

from mmselfemd.registry import FUNCTIONS


def _runtime_info(key: str) -> Optional[int]:
    """``key`` from the current ``MessageHub``'s runtime info, or None."""
    try:
        value = MessageHub.get_current_instance().get_info(key, None)
    except Exception:  # no message hub in this process
        return None
    return None if value is None else int(value)


@FUNCTIONS.register_module()
def epoch_worker_init_fn(worker_id: int,
                         num_workers: Optional[int] = None,
                         rank: Optional[int] = None,
                         seed: Optional[int] = None,
                         epoch: Optional[int] = None,
                         disable_subprocess_warning: bool = False) -> None:
    """Seed ``random``, ``numpy`` and ``torch`` of a dataloader worker from
    (seed, rank, worker_id, epoch).

    Use it in a config as
    ``worker_init_fn=dict(type='mmselfemd.epoch_worker_init_fn')`` with
    ``persistent_workers=False``: mmengine's ``Runner.build_dataloader``
    passes nothing but the config's keys, so the other values are read in
    the worker. The epoch is the runner's ``MessageHub`` runtime info
    ``'epoch'``, set by ``RuntimeInfoHook.before_train_epoch`` before
    ``EpochBasedTrainLoop.run_epoch`` creates the epoch's dataloader
    iterator, which starts (forks) the workers. Persistent workers are
    started once and keep the epoch of their start; so do workers started
    with ``spawn``/``forkserver`` (they see no message hub: epoch 0).

    Args:
        worker_id (int): Worker id in ``[0, num_workers - 1]``.
        num_workers (int, optional): Number of workers. Defaults to None:
            from ``torch.utils.data.get_worker_info()``.
        rank (int, optional): Rank of the process. Defaults to None:
            ``mmengine.dist.get_rank()``.
        seed (int, optional): Base random seed. Defaults to None: the
            runner's seed (``MessageHub`` runtime info ``'seed'``, set by
            ``RuntimeInfoHook.before_run``); without one, PyTorch's own
            (non-reproducible) worker seed.
        epoch (int, optional): Epoch. Defaults to None: ``MessageHub``
            runtime info ``'epoch'``, else 0.
        disable_subprocess_warning (bool): Ignore the warnings of workers
            other than worker 0. Defaults to False.
    """
    info = get_worker_info()
    if num_workers is None:
        num_workers = info.num_workers if info is not None else 1
    if rank is None:
        rank = get_rank()
    if seed is None:
        seed = _runtime_info('seed')
    if seed is None:
        seed = info.seed if info is not None else torch.initial_seed()
    if epoch is None:
        epoch = _runtime_info('epoch') or 0
    # SeedSequence mixes the entries, so (epoch, worker) pairs do not
    # collide as sums like ``seed + worker_id + epoch`` would.
    entropy = [int(seed) % 2**64, num_workers, rank, worker_id, epoch]
    worker_seed = int(np.random.SeedSequence(entropy).generate_state(1)[0])
    np.random.seed(worker_seed)
    random.seed(worker_seed)
    torch.manual_seed(worker_seed)
    if disable_subprocess_warning and worker_id != 0:
        warnings.simplefilter('ignore')
