# Copyright (c) mmselfemd contributors. All rights reserved.
"""Exact resume at an epoch boundary of an epoch-based run.

The real recipe trains with ``EpochBasedTrainLoop`` and a shuffling
``DefaultSampler``. Its dataloader workers are started again every epoch
(``persistent_workers=False``) and seeded by ``epoch_worker_init_fn`` from
(seed, rank, worker, epoch), so a run resumed from the checkpoint of an
epoch draws the same augmentations as the uninterrupted run.

``selfemd_resnet18_tiny_epoch.py`` trains 3 epochs of 2 iterations with 2
workers and a checkpoint every epoch. A run killed with ``SIGKILL`` in
iteration 3 (``epoch_1.pth`` written) and resumed with ``--resume`` must log
the same losses (``repr`` of the float) for iterations 3-6 as the
uninterrupted run, and end with a bitwise-equal ``epoch_3.pth``.

Negative control: with mmengine's default worker init function (no epoch
term) and persistent workers (the recipe's former setting), the resumed
workers restart the augmentation stream that the uninterrupted run's
workers had carried on: the losses after the resume differ.
"""
import os
import os.path as osp
import random
import signal
import subprocess
import time

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from torch.utils.data import DataLoader, Dataset

from mmselfemd.datasets import epoch_worker_init_fn

from .conftest import HERE, read_losses, run_train, train_cmd, train_env
from .test_resume import _assert_same_tree, _load

EPOCH_CFG = osp.join(HERE, 'configs', 'selfemd_resnet18_tiny_epoch.py')
MAX_ITERS = 6  # 3 epochs x 2 iterations
# mmengine's default worker seeding, with the workers persistent
MMENGINE_SEEDING = [
    'train_dataloader.persistent_workers=True',
    'train_dataloader.worker_init_fn.type=mmselfemd.mmengine_worker_init_fn',
    'train_dataloader.worker_init_fn.num_workers=2',
    'train_dataloader.worker_init_fn.rank=0',
    'train_dataloader.worker_init_fn.seed=0',
]


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


def _kill_in_iter(work: str, data_root: str, iteration: int,
                  options: list) -> None:
    """Train until ``iteration`` (it is paused after it), then SIGKILL."""
    proc = subprocess.Popen(
        train_cmd(EPOCH_CFG, work, data_root, cfg_options=options),
        env=train_env(SELFEMD_TEST_PAUSE_AT=str(iteration)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True)
    marker = osp.join(work, 'paused_at_iter')
    deadline = time.time() + 180
    while not osp.exists(marker):
        assert proc.poll() is None, f'training exited with {proc.returncode}'
        assert time.time() < deadline, f'training did not reach {iteration}'
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    for _ in range(50):  # the dataloader workers die with it
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)


def test_epoch_resume_after_sigkill_is_exact(scenes_root, tmp_path):
    reference = str(tmp_path / 'uninterrupted')
    run_train(train_cmd(EPOCH_CFG, reference, scenes_root))
    killed = str(tmp_path / 'killed')
    # paused after iteration 3 (the first of epoch 2): epoch_1.pth written
    _kill_in_iter(killed, scenes_root, 3, [])
    assert osp.isfile(osp.join(killed, 'epoch_1.pth'))
    assert not osp.exists(osp.join(killed, 'epoch_2.pth'))
    proc = run_train(train_cmd(EPOCH_CFG, killed, scenes_root, '--resume'))
    log = proc.stdout + proc.stderr
    assert 'Auto resumed from the latest checkpoint' in log
    assert 'epoch_1.pth' in log

    ref = read_losses(reference)
    got = read_losses(killed)
    assert sorted(ref) == sorted(got) == list(range(1, MAX_ITERS + 1))
    for it in range(1, MAX_ITERS + 1):
        assert got[it] == ref[it], f'iteration {it}: {got[it]} != {ref[it]}'
    # the epochs did draw different data (not a replayed stream)
    assert ref[1] != ref[3] != ref[5]
    a = _load(osp.join(reference, 'epoch_3.pth'))
    b = _load(osp.join(killed, 'epoch_3.pth'))
    for key in ('state_dict', 'optimizer', 'param_schedulers'):
        _assert_same_tree(a[key], b[key], key)
    assert a['meta']['epoch'] == b['meta']['epoch'] == 3


@pytest.mark.parametrize('options', [MMENGINE_SEEDING])
def test_epoch_resume_with_mmengine_seeding_differs(scenes_root, tmp_path,
                                                    options):
    """Negative control: the comparison detects restarted workers."""
    reference = str(tmp_path / 'uninterrupted')
    run_train(train_cmd(EPOCH_CFG, reference, scenes_root,
                        cfg_options=options))
    work = str(tmp_path / 'resumed')
    run_train(
        train_cmd(EPOCH_CFG, work, scenes_root, '--resume',
                  osp.join(reference, 'epoch_1.pth'), cfg_options=options))
    ref = read_losses(reference)
    got = read_losses(work)
    assert sorted(got) == list(range(3, MAX_ITERS + 1))
    assert all(got[it] != ref[it] for it in range(3, MAX_ITERS + 1))
