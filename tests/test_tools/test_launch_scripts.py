# Copyright (c) mmselfemd contributors. All rights reserved.
"""tools/{dist,slurm}_*.sh and tools/benchmarks/mmdetection/*.sh.

Missing arguments print the usage line; without an activated environment
the scripts use the project's venv, and without any Python that imports
torch they say in one line what to do.
"""
import os.path as osp
import subprocess
import sys

import pytest

from .conftest import REPO, TOOLS, free_port, tool_env

SCRIPTS = {
    'dist_train.sh': 'CONFIG GPUS',
    'dist_test.sh': 'CONFIG CHECKPOINT GPUS',
    'slurm_train.sh': 'PARTITION JOB_NAME CONFIG WORK_DIR',
    'slurm_test.sh': 'PARTITION JOB_NAME CONFIG CHECKPOINT',
    'benchmarks/mmdetection/dist_train_fpn.sh': 'CONFIG PRETRAIN GPUS',
    'benchmarks/mmdetection/slurm_train_fpn.sh':
    'PARTITION CONFIG PRETRAIN',
}


def _bare_env(**extra: str) -> dict:
    """A shell with no activated environment: system PATH only."""
    env = tool_env()
    for key in ('PYTHON', 'VIRTUAL_ENV', 'CONDA_PREFIX', 'MMSELFEMD_VENV'):
        env.pop(key, None)
    env['PATH'] = '/usr/bin:/bin'
    env.update(extra)
    return env


def _bash(script: str, *args: str, cwd, env: dict,
          timeout: float = 60) -> subprocess.CompletedProcess:
    """``bash tools/SCRIPT ARGS`` in ``cwd``, text output captured."""
    return subprocess.run(['bash', osp.join(TOOLS, script), *args],
                          cwd=str(cwd),
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)


@pytest.mark.parametrize('script', sorted(SCRIPTS))
def test_missing_arguments_print_usage(script, tmp_path):
    proc = _bash(script, cwd=tmp_path, env=_bare_env())
    assert proc.returncode == 1
    assert 'unbound variable' not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith('usage: ')
    assert f'{script} {SCRIPTS[script]}' in lines[0]


def test_dist_train_finds_project_venv(tmp_path):
    """Not activated, no `python` on PATH: the venv of the set-up runs."""
    extra = {}
    if osp.realpath(sys.prefix) != osp.realpath(osp.join(REPO, '.venv')):
        extra['MMSELFEMD_VENV'] = sys.prefix
    # a free port for torchrun's store
    env = _bare_env(PORT=str(free_port()), **extra)
    proc = _bash('dist_train.sh', 'cfg.py', '1', '--help', cwd=tmp_path,
                 env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # tools/train.py's own help, printed by the torchrun worker
    assert '--auto-scale-lr' in proc.stdout
    assert 'No module named' not in proc.stderr


def test_no_python_with_torch_says_what_to_do(tmp_path):
    env = _bare_env(MMSELFEMD_VENV=str(tmp_path / 'no_venv'))
    proc = _bash('dist_train.sh', 'cfg.py', '1', cwd=tmp_path, env=env)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith('dist_train.sh: error: python3 cannot '
                               'import torch')
    assert 'bash tools/setup_env.sh' in lines[0]
    assert 'PYTHON=' in lines[0]
    assert str(tmp_path / 'no_venv') in lines[0]


def test_explicit_python_is_used(tmp_path):
    """$PYTHON wins over the project's venv (here: a fake that logs)."""
    fake = tmp_path / 'fake_python'
    log = tmp_path / 'calls.txt'
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    fake.chmod(0o755)
    env = _bare_env(PYTHON=str(fake))
    proc = _bash('dist_test.sh', 'cfg.py', 'ckpt.pth', '2', cwd=tmp_path,
                 env=env)
    assert proc.returncode == 0, proc.stderr
    call = log.read_text()
    assert call.startswith('-m torch.distributed.run ')
    assert '--nproc_per_node=2' in call
    assert f'{osp.join(TOOLS, "test.py")} cfg.py ckpt.pth' in call
