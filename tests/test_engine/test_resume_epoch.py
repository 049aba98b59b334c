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
import os.path as osp

import pytest

from .conftest import HERE, kill_paused_run, read_losses, run_train, train_cmd
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


@pytest.mark.slow  # three training runs, one killed and resumed
def test_epoch_resume_after_sigkill_is_exact(scenes_root, tmp_path):
    reference = str(tmp_path / 'uninterrupted')
    run_train(train_cmd(EPOCH_CFG, reference, scenes_root))
    killed = str(tmp_path / 'killed')
    # paused after iteration 3 (the first of epoch 2): epoch_1.pth written
    kill_paused_run(EPOCH_CFG, killed, scenes_root, 3)
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


@pytest.mark.slow  # two training runs
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
