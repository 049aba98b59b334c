# Copyright (c) mmselfemd contributors. All rights reserved.
"""The benchmark scripts of projects/benchmarks/tools as command lines over
projects.benchmarks: toy sizes, each must run and report."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from projects.benchmarks import HAS_POT

TOOLS = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools')


def _run(script, *args, timeout=600):
    # one thread per process: torch's pool spins on a busy machine
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, osp.join(TOOLS, script), *args],
        env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_benchmark_step(tmp_path):
    out = str(tmp_path / 'step.json')
    stdout = _run('benchmark_step.py', '--depth', '18', '--img-size', '32',
                  '--batch-size', '2', '--small-views', '1',
                  '--small-size', '16', '--warmup', '1', '--repeats', '3',
                  '--device', 'cpu', '--json', out)
    with open(out) as f:
        result = json.load(f)
    assert result['setting'].startswith('ResNet-18, 32 px x2 (+1 x 16 px')
    for key in ('times_s', 'cpu_times_s'):
        assert {n: len(t) for n, t in result[key].items()} == {
            'Self-EMD': 3, 'BYOL': 3}
    assert all(t > 0 for t in result['times_s']['BYOL'])
    assert result['ratio'] == pytest.approx(
        result['median_s']['Self-EMD'] / result['median_s']['BYOL'])
    assert len(result['loadavg_1min']) == 2
    assert '| ResNet-18, 32 px x2' in stdout


@pytest.mark.skipif(not HAS_POT, reason='needs POT')
def test_benchmark_emd():
    stdout = _run('benchmark_emd.py', '--device', 'cpu', '--batch', '4',
                  '--nodes', '4', '--channels', '8', '--repeats', '1',
                  '--skip-pot-sinkhorn')
    lines = [ln for ln in stdout.splitlines() if ln.startswith('| 4 |')]
    assert lines[0].startswith('| 4 | POT exact')
    assert any('ours, default' in ln for ln in lines)
