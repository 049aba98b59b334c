# Copyright (c) mmselfemd contributors. All rights reserved.
"""Checkpoints as plain data: weights-only loadable and resumable;
``import mmselfemd`` changes nothing in the process, and
``register_all_modules()`` (what tools/train.py calls) lets checkpoints
written without our hook load while a pickle that runs code is refused."""
import collections
import json
import os
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader, Runner
from torch.utils.data import Dataset

from mmselfemd.engine.hooks import PortableCheckpointHook
from mmselfemd.utils import (
    LEGACY_CHECKPOINT_GLOBALS,
    UnsafeCheckpointError,
    legacy_checkpoint_globals,
    load_checkpoint_safe,
    make_checkpoint_portable,
    restore_message_hub,
)
from mmselfemd.utils.checkpoint_compat import rebuild_history_buffer
from mmselfemd.utils.portable_checkpoint import (
    history_buffer_from_plain,
    history_buffer_to_plain,
)

# mmengine's loader resumes files written without our hook only after
# register_all_modules() (as in tools/train.py); the tests that need the
# bare process run in a subprocess or under `no_safe_globals`.
pytestmark = pytest.mark.usefixtures('registered')


@pytest.fixture
def no_safe_globals(registered):
    """Run the test with torch's allow-list empty (after `registered` has
    filled it), then restore it."""
    saved = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    yield
    torch.serialization.clear_safe_globals()
    torch.serialization.add_safe_globals(saved)


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


def _runner(work_dir, max_iters, name='toy', **kwargs):
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
            logger=dict(type='LoggerHook', interval=1),
            portable_checkpoint=PortableCheckpointHook()),
        randomness=dict(seed=0),
        experiment_name=f'{name}_{max_iters}_{len(kwargs)}',
        **kwargs)


def test_runner_checkpoint_is_plain_and_resumes(tmp_path, checkpoint_globals):
    work_dir = str(tmp_path)
    runner = _runner(work_dir, max_iters=2)
    runner.train()
    ckpt = osp.join(work_dir, 'iter_2.pth')
    assert osp.isfile(ckpt)
    # only torch's own globals: no mmselfemd, mmengine, numpy or getattr
    names = checkpoint_globals(ckpt)
    assert names and all(n.startswith(('torch.', 'collections.'))
                         for n in names), names
    state = torch.load(ckpt, weights_only=True)
    buf = state['message_hub']['log_scalars']['train/loss']
    assert buf['type'] == 'HistoryBuffer'
    assert len(buf['log_history']) == 2
    # runtime info numpy scalars (the eta) became Python scalars
    assert type(state['message_hub']['runtime_info']['eta']) is float

    resumed = _runner(work_dir, max_iters=4, resume=True, load_from=ckpt)
    resumed.train()
    assert resumed.iter == 4
    hub = resumed.message_hub
    # the loss history of the first run came back through the checkpoint
    assert len(hub.get_scalar('train/loss')._log_history) == 4
    np.testing.assert_allclose(
        hub.get_scalar('train/loss')._log_history[:2], buf['log_history'])


def test_history_buffer_roundtrip():
    buf = HistoryBuffer(max_length=5)
    for v in (1.5, 2.0, 3.25):
        buf.update(v, count=2)
    plain = history_buffer_to_plain(buf)
    assert isinstance(plain['log_history'], torch.Tensor)
    out = history_buffer_from_plain(plain)
    np.testing.assert_array_equal(out._log_history, buf._log_history)
    assert out._log_history.dtype == buf._log_history.dtype
    np.testing.assert_array_equal(out._count_history, buf._count_history)
    assert out.max_length == 5
    assert out.mean() == buf.mean() and out.current() == 3.25
    out.update(4.0)  # a working buffer, not a view of the tensor
    assert len(out._log_history) == 4 and len(buf._log_history) == 3


devices = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


@pytest.mark.parametrize('device', devices)
def test_history_buffer_from_tensors_numpy_cannot_read(device):
    """Runner.resume maps a checkpoint to the run's device: on a GPU the
    plain buffers arrive as CUDA tensors, which np.asarray refuses (the GPU
    check's dist section failed so). A tensor that requires grad is
    refused by np.asarray the same way, and stands in for it on CPU."""
    buf = HistoryBuffer(max_length=5)
    for v in (1.5, 2.0):
        buf.update(v)
    plain = history_buffer_to_plain(buf)
    plain['log_history'] = plain['log_history'].to(device).requires_grad_()
    plain['count_history'] = plain['count_history'].to(device)
    with pytest.raises((TypeError, RuntimeError)):
        np.asarray(plain['log_history'])
    out = history_buffer_from_plain(plain)
    np.testing.assert_array_equal(out._log_history, buf._log_history)
    np.testing.assert_array_equal(out._count_history, buf._count_history)


class _Custom:
    pass


def test_make_portable_converts_numpy_and_names_leftovers(tmp_path,
                                                           checkpoint_globals):
    buf = HistoryBuffer()
    buf.update(1.0)
    ckpt = {
        'meta': {'seed': np.int64(3), 'arr': np.arange(3),
                 'names': ('a', np.str_('b'))},
        'message_hub': {'log_scalars': {'loss': buf},
                        'runtime_info': {'eta': np.float64(2.5),
                                         'obj': _Custom()}},
    }
    leftovers = make_checkpoint_portable(ckpt)
    assert leftovers == [('message_hub.runtime_info.obj',
                          f'{__name__}._Custom')]
    assert type(ckpt['meta']['seed']) is int
    assert torch.equal(ckpt['meta']['arr'], torch.arange(3))
    assert ckpt['meta']['names'] == ('a', 'b')
    assert type(ckpt['message_hub']['runtime_info']['eta']) is float
    del ckpt['message_hub']['runtime_info']['obj']
    path = str(tmp_path / 'c.pth')
    torch.save(ckpt, path)
    assert checkpoint_globals(path) <= {
        'torch._utils._rebuild_tensor_v2', 'torch.LongStorage',
        'torch.DoubleStorage', 'collections.OrderedDict'
    }
    loaded = torch.load(path, weights_only=True)
    assert restore_message_hub(loaded) == 1
    assert isinstance(loaded['message_hub']['log_scalars']['loss'],
                      HistoryBuffer)


def test_register_all_modules_leaves_mmengine_alone():
    """Setting up adds zoo:// and the allow-list, and changes no loader of
    mmengine and no pickling (the `registered` fixture has run it)."""
    import mmengine.runner.checkpoint as ckpt_module
    schemes = CheckpointLoader._schemes
    assert schemes[''] is ckpt_module.load_from_local
    for prefix in ('http://', 'https://'):
        assert schemes[prefix] is ckpt_module.load_from_http
    assert ckpt_module.load_from_http.__module__ == \
        'mmengine.runner.checkpoint'
    assert 'zoo://' in schemes  # the one scheme it adds
    assert HistoryBuffer.__reduce__ is object.__reduce__
    assert HistoryBuffer.__reduce_ex__ is object.__reduce_ex__
    assert set(LEGACY_CHECKPOINT_GLOBALS) <= set(
        torch.serialization.get_safe_globals())


# Imports the stack first (what it changes is the baseline), then prints
# which of `import mmselfemd` and its subpackages (what mmdet's
# custom_imports import) changed the allow-list or the loaders.
IMPORT_CHECK = r"""
import importlib, json, sys
import mmdet.models, mmengine.runner, mmpretrain.models, torch
from mmengine.runner.checkpoint import CheckpointLoader

def state():
    return (set(torch.serialization.get_safe_globals()),
            dict(CheckpointLoader._schemes))

before = state()
changed = []
for name in sys.argv[1:]:
    importlib.import_module(name)
    if state() != before:
        changed.append(name)
print(json.dumps(dict(changed=changed, schemes=sorted(before[1]),
                      zoo='zoo://' in CheckpointLoader._schemes)))
"""


def test_import_changes_nothing_global():
    """`import mmselfemd` (and of its subpackages) leaves torch's
    weights-only allow-list and mmengine's checkpoint loaders as they are;
    a fresh interpreter, so this test process's setup does not count."""
    modules = [
        'mmselfemd', 'mmselfemd.utils', 'mmselfemd.registry',
        'mmselfemd.apis', 'mmselfemd.datasets', 'mmselfemd.engine',
        'mmselfemd.engine.hooks', 'mmselfemd.evaluation', 'mmselfemd.models',
        'mmselfemd.visualization'
    ]
    proc = subprocess.run([sys.executable, '-c', IMPORT_CHECK, *modules],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out['changed'] == []
    assert not out['zoo'] and 'http://' in out['schemes']


# A fresh interpreter set up as tools/train.py sets up (import mmselfemd,
# register_all_modules): argv = a plain mmengine checkpoint, an evil pickle.
SETUP_CHECK = r"""
import json, pickle, sys
from mmengine.runner.checkpoint import _load_checkpoint
import mmselfemd  # noqa: F401
from mmselfemd.utils import register_all_modules

plain, evil = sys.argv[1:]

def load(path):
    try:
        ckpt = _load_checkpoint(path, map_location='cpu')
    except pickle.UnpicklingError as e:
        return 'refused: ' + str(e)
    return type(ckpt['message_hub']['log_scalars']['train/loss']).__name__

out = dict(plain_before=load(plain))
register_all_modules(init_default_scope=False)
out.update(plain_after=load(plain), evil_after=load(evil))
print(json.dumps(out))
"""


class _Evil:

    def __init__(self, marker='/dev/null'):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'echo pwned > {self.marker}',))


def _plain_mmengine_checkpoint(path):
    """What a plain mmengine runner writes into a checkpoint's hub and
    meta: HistoryBuffer objects (their statistics methods pickle as
    getattr), numpy scalars."""
    buf = HistoryBuffer()
    for v in (1.0, 2.0):
        buf.update(np.float64(v))
    torch.save(
        dict(meta=dict(seed=np.int64(3)),
             message_hub=dict(log_scalars={'train/loss': buf},
                              runtime_info=dict(eta=np.float64(1.5)))), path)


def test_tools_setup_loads_plain_mmengine_checkpoint_refuses_code(
        tmp_path, checkpoint_globals):
    """After the set-up of tools/train.py, mmengine's own loader (which
    Runner.resume calls) reads a checkpoint as plain mmengine writes it,
    which it refuses in a process that only imported mmselfemd; a pickle
    that calls os.system is still refused and never runs."""
    plain, evil = str(tmp_path / 'plain.pth'), str(tmp_path / 'evil.pth')
    marker = tmp_path / 'pwned'
    _plain_mmengine_checkpoint(plain)
    assert {'mmengine.logging.history_buffer.HistoryBuffer',
            '__builtin__.getattr'} <= checkpoint_globals(plain)
    torch.save({'state_dict': {}, 'x': _Evil(str(marker))}, evil)
    proc = subprocess.run(
        [sys.executable, '-c', SETUP_CHECK, plain, evil],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out['plain_before'].startswith('refused') and \
        'Unsupported global' in out['plain_before']
    assert out['plain_after'] == 'HistoryBuffer'
    assert out['evil_after'].startswith('refused') and \
        'system' in out['evil_after']
    assert not marker.exists()


@pytest.mark.usefixtures('no_safe_globals')
def test_safe_load_allows_legacy_for_that_load_only(tmp_path):
    """load_checkpoint_safe reads a plain mmengine checkpoint without the
    process-wide allow-list and leaves the allow-list as it found it."""
    path = str(tmp_path / 'plain.pth')
    _plain_mmengine_checkpoint(path)
    with pytest.raises(pickle.UnpicklingError, match='Unsupported global'):
        CheckpointLoader.load_checkpoint(path)
    loaded = load_checkpoint_safe(path)
    assert loaded['message_hub']['log_scalars']['train/loss'].mean() == 1.5
    assert loaded['meta']['seed'] == 3
    assert torch.serialization.get_safe_globals() == []
    with pytest.raises(pickle.UnpicklingError, match='Unsupported global'):
        CheckpointLoader.load_checkpoint(path)


@pytest.mark.usefixtures('no_safe_globals')
def test_legacy_context_removes_only_what_it_added():
    """Unlike torch's safe_globals context, ours keeps what was
    allow-listed before it."""
    kept = LEGACY_CHECKPOINT_GLOBALS[:2]
    torch.serialization.add_safe_globals(kept)
    with legacy_checkpoint_globals():
        assert set(torch.serialization.get_safe_globals()) == set(
            LEGACY_CHECKPOINT_GLOBALS)
    assert set(torch.serialization.get_safe_globals()) == set(kept)


def test_legacy_checkpoint_still_loads(tmp_path, monkeypatch):
    """Buffers pickled through rebuild_history_buffer (earlier versions)."""
    buf = HistoryBuffer()
    buf.update(2.0)
    monkeypatch.setattr(
        HistoryBuffer, '__reduce__', lambda self: (rebuild_history_buffer, (
            self._log_history.tolist(), self._count_history.tolist(),
            self.max_length)),
        raising=False)
    path = str(tmp_path / 'legacy.pth')
    torch.save({'message_hub': {'log_scalars': {'loss': buf}},
                'eta': np.float64(1.5)}, path)
    monkeypatch.undo()
    for loaded in (load_checkpoint_safe(path),
                   CheckpointLoader.load_checkpoint(path)):
        assert loaded['message_hub']['log_scalars']['loss'].mean() == 2.0
        assert loaded['eta'] == 1.5


def test_malicious_checkpoint_refused(tmp_path):
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'x': _Evil()}, path)
    with pytest.raises(UnsafeCheckpointError, match='system'):
        load_checkpoint_safe(path)
    # mmengine's own loader (torch's weights-only default) refuses it too
    with pytest.raises(pickle.UnpicklingError, match='system'):
        CheckpointLoader.load_checkpoint(path)
    # getattr is allow-listed only as history_buffer_method: any other
    # attribute access is refused, by our loader and by mmengine's
    for owner, name in ((collections.OrderedDict, 'fromkeys'),
                        (HistoryBuffer, '__init__')):
        path = str(tmp_path / f'getattr_{name}.pth')
        torch.save({'x': _GetAttr(owner, name)}, path)
        with pytest.raises(UnsafeCheckpointError,
                           match=f"Refused getattr.*'{name}'"):
            load_checkpoint_safe(path)
        with pytest.raises(pickle.UnpicklingError, match='Refused getattr'):
            CheckpointLoader.load_checkpoint(path)


class _GetAttr:

    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    def __reduce__(self):
        return (getattr, (self.owner, self.name))


def _runner_without_hook(work_dir, max_iters, **kwargs):
    """A plain mmengine run: the PortableCheckpointHook switched off."""
    runner = _runner(work_dir, max_iters, name='plain', **kwargs)
    runner._hooks = [h for h in runner._hooks
                     if not isinstance(h, PortableCheckpointHook)]
    return runner


def test_plain_mmengine_checkpoint_loads_and_resumes(tmp_path,
                                                     checkpoint_globals):
    """A checkpoint that plain mmengine writes (an mmdet or mmpretrain run
    without our hook, or ours from before it): HistoryBuffers in the
    message hub (whose statistics methods pickle as getattr), numpy
    scalars and arrays. It loads weights-only through mmengine's own
    loader and resumes, after register_all_modules()."""
    from mmengine.runner.checkpoint import _load_checkpoint
    work_dir = str(tmp_path)
    runner = _runner_without_hook(work_dir, max_iters=2)
    runner.train()
    ckpt = osp.join(work_dir, 'iter_2.pth')
    names = checkpoint_globals(ckpt)
    assert {'mmengine.logging.history_buffer.HistoryBuffer',
            '__builtin__.getattr'} <= names, names
    # add what such files also carry: numpy scalars and arrays in meta
    state = torch.load(ckpt, weights_only=True)
    state['meta']['extra'] = dict(eta=np.float64(1.5), seed=np.int64(3),
                                  arr=np.arange(3, dtype=np.float32))
    torch.save(state, ckpt)
    loaded = _load_checkpoint(ckpt, map_location='cpu')
    buf = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer) and len(buf._log_history) == 2
    assert buf.statistics('mean') == buf.mean()
    assert loaded['meta']['extra']['seed'] == 3
    np.testing.assert_array_equal(loaded['meta']['extra']['arr'],
                                  np.arange(3, dtype=np.float32))
    # resume as tools/train.py does (with the portable hook)
    resumed = _runner(work_dir, max_iters=4, name='plain', resume=True,
                      load_from=ckpt)
    resumed.train()
    assert resumed.iter == 4
    assert len(resumed.message_hub.get_scalar(
        'train/loss')._log_history) == 4


def test_missing_checkpoint_named(tmp_path):
    # our loader, not mmengine's (which mmselfemd no longer replaces)
    path = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_safe(path)
