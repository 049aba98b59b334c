# Copyright (c) mmselfemd contributors. All rights reserved.
"""Exact resume: a run killed with SIGKILL and resumed equals the
uninterrupted run, bitwise (CPU, deterministic algorithms).

The tiny Self-EMD config trains 6 iterations (checkpoint every 2) with the
full random augmentation pipeline, an ``InfiniteSampler`` (shuffle) and 2
dataloader workers. The killed run stops after iteration 5 (its
``iter_4.pth`` and ``iter_2.pth`` written, iteration 5 lost) and is killed
with ``SIGKILL`` from outside; it is resumed

- with ``--resume`` (auto: latest checkpoint, ``iter_4.pth``) in its work
  directory, and
- with ``--resume PATH`` (``iter_2.pth``) into a fresh work directory.

Both must log, iteration by iteration, the same losses (``repr`` of the
float) as the uninterrupted run, and end with a bitwise-equal
``iter_6.pth``: online and EMA target weights and buffers, optimizer state
(momentum buffers), LR scheduler states. This covers the data order
(sampler position), the augmentation random state (replayed by mmengine's
dataloader skip-ahead), the EMA target (a submodule of the model, so in
the state dict, with its ``n_averaged`` step count) and the schedules.

The negative control resumes with the data state deliberately forgotten
(the skip-ahead disabled by a test hook): its losses must differ, so the
comparison can fail.
"""
import os.path as osp

import pytest
import torch

from .conftest import (
    TINY_CFG,
    kill_paused_run,
    read_losses,
    run_train,
    train_cmd,
    train_env,
)

pytestmark = pytest.mark.slow  # several tiny training runs

# 2 workers as in the demo config (persistent, as tools/train.py sets).
WORKERS = ['train_dataloader.num_workers=2',
           'train_dataloader.persistent_workers=True']
MAX_ITERS = 6


def _load(path: str) -> dict:
    from mmselfemd.utils import load_checkpoint_safe
    return load_checkpoint_safe(path, map_location='cpu')


def _assert_same_tree(a, b, where: str = '') -> None:
    """Bitwise equality of nested checkpoint data."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and \
            torch.equal(a, b), where
    elif isinstance(a, dict):
        assert set(a) == set(b), (where, set(a) ^ set(b))
        for k in a:
            _assert_same_tree(a[k], b[k], f'{where}.{k}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_tree(x, y, f'{where}[{i}]')
    else:
        assert a == b, (where, a, b)


@pytest.fixture(scope='module')
def reference(tmp_path_factory, scenes_root) -> str:
    """The uninterrupted run's work directory."""
    work = str(tmp_path_factory.mktemp('uninterrupted'))
    run_train(train_cmd(TINY_CFG, work, scenes_root, cfg_options=WORKERS))
    return work


@pytest.fixture(scope='module')
def killed(tmp_path_factory, scenes_root) -> str:
    """A run SIGKILLed after iteration 5 (last checkpoint: iteration 4)."""
    work = str(tmp_path_factory.mktemp('killed'))
    kill_paused_run(TINY_CFG, work, scenes_root, 5, cfg_options=WORKERS)
    assert osp.isfile(osp.join(work, 'iter_4.pth'))
    assert not osp.exists(osp.join(work, 'iter_6.pth'))
    return work


def _check_equal_to_reference(reference: str, work: str,
                              first_iter: int) -> None:
    ref = read_losses(reference)
    got = read_losses(work)
    assert sorted(ref) == list(range(1, MAX_ITERS + 1))
    for it in range(first_iter, MAX_ITERS + 1):
        assert got[it] == ref[it], f'iteration {it}: {got[it]} != {ref[it]}'
    a = _load(osp.join(reference, f'iter_{MAX_ITERS}.pth'))
    b = _load(osp.join(work, f'iter_{MAX_ITERS}.pth'))
    assert any(k.startswith('target_net.') for k in a['state_dict'])
    for key in ('state_dict', 'optimizer', 'param_schedulers'):
        _assert_same_tree(a[key], b[key], key)
    assert a['meta']['iter'] == b['meta']['iter'] == MAX_ITERS


def test_auto_resume_after_sigkill_is_exact(reference, killed, scenes_root):
    proc = run_train(
        train_cmd(TINY_CFG, killed, scenes_root, '--resume',
                  cfg_options=WORKERS))
    log = proc.stdout + proc.stderr
    assert 'Auto resumed from the latest checkpoint' in log
    assert 'iter_4.pth' in log
    # iteration 5 was lost with the killed process and is trained again
    _check_equal_to_reference(reference, killed, first_iter=5)


def test_resume_from_path_is_exact(reference, killed, scenes_root,
                                   tmp_path):
    work = str(tmp_path / 'resumed')
    proc = run_train(
        train_cmd(TINY_CFG, work, scenes_root, '--resume',
                  osp.join(killed, 'iter_2.pth'), cfg_options=WORKERS))
    assert 'resumed epoch: 0, iter: 2' in proc.stdout + proc.stderr
    _check_equal_to_reference(reference, work, first_iter=3)


def test_resume_without_data_state_differs(reference, killed, scenes_root,
                                           tmp_path):
    """Negative control: the comparison detects a lost data state."""
    work = str(tmp_path / 'forgetful')
    run_train(
        train_cmd(TINY_CFG, work, scenes_root, '--resume',
                  osp.join(killed, 'iter_2.pth'), cfg_options=WORKERS),
        env=train_env(SELFEMD_TEST_FORGET_DATA_STATE='1'))
    ref = read_losses(reference)
    got = read_losses(work)
    assert all(got[it] != ref[it] for it in range(3, MAX_ITERS + 1))
