# Copyright (c) mmselfemd contributors. All rights reserved.
"""tools/setup_env.sh --dry-run: the CUDA/torch build decisions.

The probes (GPU count, nvcc's and torch's CUDA versions) are faked with
environment variables, so each machine the set-up may meet is checked here
on CPU; the venv given does not exist, so nothing is imported or installed.
"""
import os
import os.path as osp
import subprocess
import sys

import pytest

from .conftest import REPO

SETUP = osp.join(REPO, 'tools', 'setup_env.sh')
PY_TAG = f'py{sys.version_info[0]}{sys.version_info[1]}'


def _dry_run(tmp_path, expect_rc: int = 0, **env_vars: str):
    """Run the dry run; return ({key: value} of its lines, stderr)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith('MMSELFEMD_') and k != 'CUDA_HOME'
    }
    env.update(
        MMSELFEMD_VENV=str(tmp_path / 'venv'),
        MMSELFEMD_WHEELHOUSE=str(tmp_path / 'wheels'),
        PYTHON=sys.executable,
        MMSELFEMD_PROBE_GPUS='0',
        MMSELFEMD_PROBE_NVCC='none')
    env.update(env_vars)
    proc = subprocess.run(['bash', SETUP, '--dry-run'],
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=60)
    assert proc.returncode == expect_rc, proc.stdout + proc.stderr
    # a dry run creates nothing
    assert not (tmp_path / 'venv').exists()
    assert not (tmp_path / 'wheels').exists()
    lines = proc.stdout.splitlines()
    if expect_rc == 0:
        assert lines[0] == '[setup] dry run: nothing is installed or changed'
    out = dict(line.split(': ', 1) for line in lines[1:])
    return out, proc.stderr


def test_cpu_machine(tmp_path):
    """No GPU (this machine's case): CPU ops, PyPI's CUDA 13.0 torch."""
    out, _ = _dry_run(tmp_path, MMSELFEMD_PROBE_NVCC='13.0')
    assert out['torch'] == 'pip install torch==2.14.1 torchvision==0.29.1'
    assert out['torch CUDA'].startswith('13.0 (assumed')
    assert out['mmcv ops'].startswith('cpu (')
    assert 'FORCE_CUDA=1' not in out['mmcv ops']
    assert out['mmcv ops'].endswith('no NVIDIA GPU found (nvidia-smi)')
    assert 'warning' not in out
    assert out['mmcv wheel cache'] == str(
        tmp_path / 'wheels' / f'torch-2.14.1_cu130-{PY_TAG}-cpu')
    assert out['verify ops on'] == 'cpu'


def test_gpu_with_matching_nvcc_builds_cuda_ops(tmp_path):
    out, _ = _dry_run(
        tmp_path, MMSELFEMD_PROBE_GPUS='8', MMSELFEMD_PROBE_NVCC='13.1')
    assert out['mmcv ops'].startswith('cuda (MMCV_WITH_OPS=1 FORCE_CUDA=1)')
    assert '8 GPU(s), nvcc 13.1, torch CUDA 13.0' in out['mmcv ops']
    # the cached wheel is keyed on the CUDA ops: never reused for CPU ops
    assert out['mmcv wheel cache'].endswith(f'torch-2.14.1_cu130-{PY_TAG}'
                                            '-cu130')
    assert out['verify ops on'] == 'cpu cuda'
    assert 'warning' not in out


@pytest.mark.parametrize('nvcc, torch_cuda, says', [
    ('none', '13.0', 'no nvcc found'),
    ('12.6', '13.0', 'nvcc is CUDA 12.6 but torch was built with CUDA 13.0'),
    ('13.0', 'none', 'torch is not a CUDA build'),
])
def test_gpu_without_usable_toolkit_warns(tmp_path, nvcc, torch_cuda, says):
    out, _ = _dry_run(
        tmp_path,
        MMSELFEMD_PROBE_GPUS='2',
        MMSELFEMD_PROBE_NVCC=nvcc,
        MMSELFEMD_PROBE_TORCH_CUDA=torch_cuda)
    assert out['mmcv ops'].startswith('cpu (')
    assert says in out['mmcv ops']
    assert 'RoIAlign/nms on CUDA tensors' in out['warning']
    assert says in out['warning']
    assert out['mmcv wheel cache'].endswith('-cpu')
    assert out['verify ops on'] == 'cpu'


def test_torch_index_url_picks_another_build(tmp_path):
    """E.g. a CUDA 12.6 torch for an older driver."""
    url = 'https://download.pytorch.org/whl/cu126'
    out, _ = _dry_run(
        tmp_path,
        MMSELFEMD_TORCH_INDEX_URL=url,
        MMSELFEMD_PROBE_GPUS='1',
        MMSELFEMD_PROBE_NVCC='12.6')
    # the build tag is pinned, so an installed cu130 torch is replaced
    assert out['torch'] == ('pip install torch==2.14.1+cu126 '
                            f'torchvision==0.29.1+cu126 --index-url {url}')
    assert out['torch CUDA'].startswith('12.6 (build tag cu126')
    assert out['mmcv ops'].startswith('cuda (')
    assert out['mmcv wheel cache'].endswith(f'torch-2.14.1_cu126-{PY_TAG}'
                                            '-cu126')


def test_cpu_torch_index(tmp_path):
    out, _ = _dry_run(
        tmp_path,
        MMSELFEMD_TORCH_INDEX_URL='https://download.pytorch.org/whl/cpu/',
        MMSELFEMD_PROBE_NVCC='13.0')
    assert out['torch'].startswith('pip install torch==2.14.1+cpu ')
    assert out['torch CUDA'].startswith('none')
    assert out['mmcv wheel cache'].endswith(f'torch-2.14.1_cpu-{PY_TAG}-cpu')


def test_forced_cpu_ops_on_gpu_machine(tmp_path):
    out, _ = _dry_run(
        tmp_path,
        MMSELFEMD_MMCV_OPS='cpu',
        MMSELFEMD_PROBE_GPUS='4',
        MMSELFEMD_PROBE_NVCC='13.0')
    assert out['mmcv ops'].startswith('cpu (')
    assert out['mmcv ops'].endswith('MMSELFEMD_MMCV_OPS=cpu')
    assert 'warning' not in out


def test_forced_cuda_ops_without_gpu(tmp_path):
    """Building on a GPU-less node: CUDA kernels, verified on CPU only."""
    out, _ = _dry_run(
        tmp_path, MMSELFEMD_MMCV_OPS='cuda', MMSELFEMD_PROBE_NVCC='13.0')
    assert out['mmcv ops'].startswith('cuda (MMCV_WITH_OPS=1 FORCE_CUDA=1)')
    assert out['verify ops on'] == 'cpu'
    assert 'only the CPU ops can be verified' in out['warning']


@pytest.mark.parametrize('env, says', [
    (dict(MMSELFEMD_MMCV_OPS='cuda'), 'MMSELFEMD_MMCV_OPS=cuda, but no nvcc'),
    (dict(MMSELFEMD_MMCV_OPS='gpu'), 'expected auto, cpu or cuda'),
    (dict(MMSELFEMD_PROBE_GPUS='two'), "GPU count 'two' is not a number"),
])
def test_bad_settings_are_refused(tmp_path, env, says):
    _, err = _dry_run(tmp_path, expect_rc=1, **env)
    assert err.startswith('tools/setup_env.sh: error: ')
    assert says in err
    assert len(err.strip().splitlines()) == 1
