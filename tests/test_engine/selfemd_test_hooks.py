# Copyright (c) mmselfemd contributors. All rights reserved.
"""Test-only hooks, imported by the engine test configs.

- :class:`LossRecorderHook` writes every iteration's losses of every rank
  (``repr`` of the float, so comparisons are bitwise) to
  ``WORK_DIR/losses_rank{R}.jsonl``.
- :class:`PauseAtIterHook` stops the process right after iteration
  ``$SELFEMD_TEST_PAUSE_AT`` (after the checkpoint of that iteration is
  written) and waits there, so that a test can ``SIGKILL`` it at a known
  point. Without the variable it does nothing.
- :class:`ForgetDataStateHook` (negative control) defeats the restoring of
  the data state on resume when ``$SELFEMD_TEST_FORGET_DATA_STATE=1``.
- ``mmselfemd.mmengine_worker_init_fn`` (negative control) is mmengine's
  ``default_worker_init_fn`` (no epoch term), registered so that a config
  can name it.

Iterations are counted globally (``runner.iter + 1``), also by the
epoch-based loop, whose ``batch_idx`` restarts every epoch.
"""
import json
import os
import os.path as osp
import time
from typing import Optional

from mmengine.dataset import worker_init_fn as mmengine_worker_init_fn
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from mmselfemd.registry import FUNCTIONS, HOOKS

FUNCTIONS.register_module(
    name='mmengine_worker_init_fn',
    module=mmengine_worker_init_fn,
    force=True)

PAUSE_ENV = 'SELFEMD_TEST_PAUSE_AT'
PAUSED_MARKER = 'paused_at_iter'
FORGET_ENV = 'SELFEMD_TEST_FORGET_DATA_STATE'


@HOOKS.register_module()
class LossRecorderHook(Hook):
    """Append ``{"iter": i, "rank": r, "losses": {...}}`` lines."""

    priority = 'LOW'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        rank = get_rank()
        losses = {k: repr(float(v)) for k, v in (outputs or {}).items()}
        path = osp.join(runner.work_dir, f'losses_rank{rank}.jsonl')
        with open(path, 'a') as f:
            f.write(
                json.dumps(
                    dict(iter=runner.iter + 1, rank=rank, losses=losses)) +
                '\n')


@HOOKS.register_module()
class PauseAtIterHook(Hook):
    """Write a marker and sleep after iteration ``$SELFEMD_TEST_PAUSE_AT``.

    Runs after every other hook (``LOWEST``), i.e. after the
    ``CheckpointHook`` of that iteration has saved.
    """

    priority = 'LOWEST'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        pause_at = int(os.environ.get(PAUSE_ENV, '0') or 0)
        if pause_at and runner.iter + 1 == pause_at:
            with open(osp.join(runner.work_dir, PAUSED_MARKER), 'w') as f:
                f.write(str(pause_at))
            while True:  # until the test sends SIGKILL
                time.sleep(1)


class _ForgetfulIterator:
    """Yields ``None`` for the first ``n`` calls without touching the
    data, then delegates: the resume skip-ahead then replays nothing."""

    def __init__(self, iterator, n: int) -> None:
        self.iterator = iterator
        self.n = n

    def __iter__(self):
        return self

    def __next__(self):
        if self.n > 0:
            self.n -= 1
            return None
        return next(self.iterator)


@HOOKS.register_module()
class ForgetDataStateHook(Hook):
    """Negative control of the resume test (``$SELFEMD_TEST_FORGET_DATA_
    STATE=1``): after a resume, make mmengine's dataloader skip-ahead a
    no-op, so the data stream (sample order and augmentation random state)
    restarts from the beginning, as if its state were not restored."""

    def before_train(self, runner) -> None:
        if os.environ.get(FORGET_ENV) != '1':
            return
        loop = runner.train_loop
        loop.dataloader_iterator = _ForgetfulIterator(
            loop.dataloader_iterator, loop.iter)
