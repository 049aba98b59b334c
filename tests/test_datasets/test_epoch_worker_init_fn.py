# Copyright (c) mmselfemd contributors. All rights reserved.
"""epoch_worker_init_fn: one random stream per (seed, rank, worker, epoch).

The exact resume it makes possible is tested end to end in
tests/test_engine/test_resume_epoch.py.
"""
import random

import numpy as np
import torch
from mmengine.logging import MessageHub
from torch.utils.data import DataLoader, Dataset

from mmselfemd.datasets import epoch_worker_init_fn


class _RandomDraws(Dataset):
    """Every item is a draw of ``random``, ``numpy`` and ``torch``."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> tuple:
        return (random.random(), float(np.random.rand()),
                float(torch.rand(())))


def _epoch_draws(epoch: int) -> list:
    """The draws of an epoch of 2 fresh (forked) workers, in order."""
    MessageHub.get_current_instance().update_info('epoch', epoch)
    loader = DataLoader(
        _RandomDraws(),
        batch_size=1,
        num_workers=2,
        multiprocessing_context='fork',
        worker_init_fn=epoch_worker_init_fn)
    return [tuple(float(x) for x in batch) for batch in loader]


def test_epoch_worker_init_fn_streams():
    hub = MessageHub.get_instance('test_epoch_worker_init_fn')
    hub.update_info('seed', 0)
    epoch0 = _epoch_draws(0)
    epoch1 = _epoch_draws(1)
    # the same epoch replays its stream, another epoch draws another one
    assert _epoch_draws(0) == epoch0
    assert _epoch_draws(1) == epoch1
    assert all(a != b for a, b in zip(epoch0, epoch1))
    # the two workers draw different streams (items 0, 2 vs 1, 3)
    assert epoch0[0] != epoch0[1]
    # so does another seed
    hub.update_info('seed', 1)
    assert all(a != b for a, b in zip(_epoch_draws(0), epoch0))
