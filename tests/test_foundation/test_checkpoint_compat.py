# Copyright (c) mmselfemd contributors. All rights reserved.
"""mmengine checkpoints are written and resumed weights-only on torch>=2.6."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader, Runner
from torch.utils.data import Dataset

import mmselfemd  # noqa: F401  (enables weights-only checkpoints)
from mmselfemd.utils import SAFE_CHECKPOINT_GLOBALS, load_checkpoint_safe
from mmselfemd.utils.checkpoint_compat import UnsafeCheckpointError


class _ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, targets, mode='loss'):
        loss = ((self.linear(inputs) - targets)**2).mean()
        return dict(loss=loss)


class _ToyDataset(Dataset):
    metainfo = dict()

    def __len__(self):
        return 8

    def __getitem__(self, idx):
        x = torch.tensor([float(idx), 1.0])
        return dict(inputs=x, targets=x.sum(0, keepdim=True))


def _runner(work_dir, max_iters, **kwargs):
    return Runner(
        model=_ToyModel(),
        work_dir=work_dir,
        train_dataloader=dict(
            dataset=_ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate'),
            batch_size=2,
            num_workers=0),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        param_scheduler=dict(type='LinearLR', start_factor=0.5, by_epoch=False,
                             begin=0, end=4),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=2,
                            by_epoch=False),
            logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=0),
        experiment_name=f'toy_{max_iters}_{len(kwargs)}',
        **kwargs)


def test_runner_resume_weights_only(tmp_path):
    work_dir = str(tmp_path)
    runner = _runner(work_dir, max_iters=2)
    runner.train()
    ckpt = osp.join(work_dir, 'iter_2.pth')
    assert osp.isfile(ckpt)
    # only allow-listed globals are needed to load it
    unsafe = set(torch.serialization.get_unsafe_globals_in_checkpoint(ckpt))
    allowed = {f'{g.__module__}.{g.__qualname__}'
               for g in SAFE_CHECKPOINT_GLOBALS}
    assert unsafe <= allowed, unsafe - allowed
    assert 'builtins.getattr' not in unsafe
    state = torch.load(ckpt)  # torch's default: weights_only=True
    buf = state['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert len(buf._log_history) == 2

    resumed = _runner(work_dir, max_iters=4, resume=True, load_from=ckpt)
    resumed.train()
    assert resumed.iter == 4
    hub = resumed.message_hub
    # the loss history of the first run came back through the checkpoint
    assert len(hub.get_scalar('train/loss')._log_history) == 4
    np.testing.assert_allclose(
        hub.get_scalar('train/loss')._log_history[:2], buf._log_history)


def test_history_buffer_roundtrip(tmp_path):
    buf = HistoryBuffer(max_length=5)
    for v in (1.5, 2.0, 3.25):
        buf.update(v, count=2)
    path = str(tmp_path / 'buf.pth')
    torch.save({'buf': buf, 'np': np.float32(1.5), 'n': np.int64(3)}, path)
    out = load_checkpoint_safe(path)
    np.testing.assert_array_equal(out['buf']._log_history, buf._log_history)
    np.testing.assert_array_equal(out['buf']._count_history,
                                  buf._count_history)
    assert out['buf'].max_length == 5
    assert out['buf'].mean() == buf.mean()
    assert out['np'] == np.float32(1.5) and out['n'] == 3


class _Evil:

    def __reduce__(self):
        return (os.system, ('echo pwned > /dev/null',))


def test_malicious_checkpoint_refused(tmp_path):
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'x': _Evil()}, path)
    with pytest.raises(UnsafeCheckpointError, match='system'):
        load_checkpoint_safe(path)
    # the same through mmengine's loader used by Runner.resume/load_from
    with pytest.raises(UnsafeCheckpointError, match=r'evil\.pth'):
        CheckpointLoader.load_checkpoint(path)
    # an arbitrary attribute access is refused too (getattr not allowed)
    path = str(tmp_path / 'getattr.pth')
    torch.save({'buf': getattr}, path)
    with pytest.raises(UnsafeCheckpointError, match='getattr'):
        load_checkpoint_safe(path)


def test_missing_checkpoint_named(tmp_path):
    path = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        CheckpointLoader.load_checkpoint(path)
