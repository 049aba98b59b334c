# Copyright (c) mmselfemd contributors. All rights reserved.
"""tools/train.py and tools/dist_train.sh on a tiny BYOL config (CPU)."""
import os.path as osp
import subprocess
import sys
from argparse import Namespace

import pytest
import torch
from mmengine.config import Config

from .conftest import (
    BYOL_TINY_CFG,
    TOOLS,
    free_port,
    load_tool,
    run_tool,
    tool_env,
)


def _check_checkpoint(work_dir) -> None:
    from mmselfemd.utils import load_checkpoint_safe
    ckpt = load_checkpoint_safe(osp.join(work_dir, 'iter_2.pth'))
    assert ckpt['meta']['iter'] == 2
    assert any(k.startswith('target_net.module.0.')
               for k in ckpt['state_dict'])


def test_train_two_iterations(tmp_path, image_dir):
    work_dir = str(tmp_path / 'work')
    proc = run_tool('train.py', BYOL_TINY_CFG, '--work-dir', work_dir,
                    '--cfg-options',
                    f'train_dataloader.dataset.data_root={image_dir}')
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    assert 'Iter(train) [2/2]' in log
    _check_checkpoint(work_dir)


@pytest.mark.slow  # torchrun, two processes
def test_dist_train_two_cpu_processes(tmp_path, image_dir):
    """torchrun with two gloo processes; torchrun exits 0 only if both
    ranks exit 0."""
    work_dir = str(tmp_path / 'work')
    env = tool_env()
    env.update(PYTHON=sys.executable, PORT=str(free_port()))
    proc = subprocess.run([
        'bash',
        osp.join(TOOLS, 'dist_train.sh'), BYOL_TINY_CFG, '2', '--work-dir',
        work_dir, '--cfg-options',
        f'train_dataloader.dataset.data_root={image_dir}'
    ],
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log  # mmengine's name for the world size
    assert "dist_cfg=dict(backend='gloo')" in log  # the dumped config
    assert 'Iter(train) [2/2]' in log
    _check_checkpoint(work_dir)


@pytest.fixture(scope='module')
def train_tool():
    return load_tool('train.py')


def _args(train_tool, *argv):
    return train_tool.parse_args([BYOL_TINY_CFG, *argv])


def test_merge_args_defaults(train_tool):
    cfg = Config.fromfile(BYOL_TINY_CFG)
    cfg = train_tool.merge_args(cfg, _args(train_tool))
    assert cfg.work_dir == osp.join('./work_dirs', 'byol_resnet18_tiny')
    assert cfg.train_dataloader.collate_fn == dict(type='default_collate')
    assert 'persistent_workers' not in cfg.train_dataloader  # no workers
    assert cfg.launcher == 'none'


def test_merge_args_resume_and_cfg_options(train_tool):
    cfg = train_tool.merge_args(
        Config.fromfile(BYOL_TINY_CFG),
        _args(train_tool, '--resume', '--work-dir', 'w', '--cfg-options',
              'train_cfg.max_iters=5'))
    assert cfg.resume is True and cfg.load_from is None
    assert cfg.work_dir == 'w' and cfg.train_cfg.max_iters == 5
    cfg = train_tool.merge_args(
        Config.fromfile(BYOL_TINY_CFG), _args(train_tool, '--resume', 'a.pth'))
    assert cfg.resume is True and cfg.load_from == 'a.pth'
    cfg = train_tool.merge_args(
        Config.fromfile(BYOL_TINY_CFG), _args(train_tool, '--auto-scale-lr'))
    assert cfg.auto_scale_lr.enable is True


def test_merge_args_keeps_mmdet_collate(train_tool):
    """mmdet configs keep mmengine's pseudo_collate (no default_collate)."""
    cfg = Config(
        dict(
            default_scope='mmdet',
            train_dataloader=dict(batch_size=2, num_workers=2),
            optim_wrapper=dict(type='OptimWrapper')))
    cfg = train_tool.merge_args(cfg, _args(train_tool))
    assert 'collate_fn' not in cfg.train_dataloader
    assert cfg.train_dataloader.persistent_workers is True


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU path')
def test_amp_on_cpu_uses_bfloat16(train_tool):
    cfg = train_tool.merge_args(
        Config.fromfile(BYOL_TINY_CFG), _args(train_tool, '--amp'))
    assert cfg.optim_wrapper.type == 'CPUAmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_amp_switches_wrapper(train_tool):
    cfg = train_tool.merge_args(
        Config.fromfile(BYOL_TINY_CFG), _args(train_tool, '--amp'))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'float16'


def test_cpu_distributed_wrapper_cfg(train_tool, monkeypatch):
    """On CPU the DDP wrapper gets device_ids=None and gloo is chosen."""
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    calls = []
    monkeypatch.setattr(train_tool.torch_dist, 'is_initialized',
                        lambda: False)
    monkeypatch.setattr(train_tool.torch_dist, 'init_process_group',
                        lambda backend, **kw: calls.append(backend))
    cfg = Config.fromfile(BYOL_TINY_CFG)
    cfg.launcher = 'pytorch'
    train_tool.setup_cpu_distributed(cfg)
    assert calls == ['gloo']
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.device_ids is None
    assert cfg.model_wrapper_cfg.type == 'MMDistributedDataParallel'
    cfg.launcher = 'slurm'
    with pytest.raises(RuntimeError, match='not supported'):
        train_tool.setup_cpu_distributed(cfg)


def test_test_tool_merge_args(tmp_path):
    test_tool = load_tool('test.py')
    args = test_tool.parse_args([BYOL_TINY_CFG, 'ckpt.pth'])
    with pytest.raises(ValueError, match='no test_dataloader'):
        test_tool.merge_args(Config.fromfile(BYOL_TINY_CFG), args)
    cfg = Config(
        dict(
            default_scope='mmdet',
            test_dataloader=dict(batch_size=1),
            test_cfg=dict(type='TestLoop')))
    args = Namespace(**vars(args))
    args.amp = True
    cfg = test_tool.merge_args(cfg, args)
    assert cfg.load_from == 'ckpt.pth' and cfg.test_cfg.fp16 is True
