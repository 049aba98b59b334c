# Copyright (c) mmselfemd contributors. All rights reserved.
"""The CPU rehearsal of the GPU check (projects/gpu_check/tools/
gpu_check.py).

``gpu_check.py --device cpu --tiny`` runs every section at toy size, so the
script cannot rot before a GPU is lent: each section must report ``ok``
and its JSON must hold what the GPU run will be read for (solver rows,
step ratios, head share, AMP non-finite counts, an exact resume, data
rate), with mmdet and mmcv's compiled ops made unimportable.
"""
import json
import math
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

GPU_CHECK = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                     'tools', 'gpu_check.py')
SECTIONS = ['env', 'emd', 'step', 'head_share', 'amp', 'dist', 'data']

# the rehearsal runs every section (two torchrun start-ups): 1.5-2 minutes
pytestmark = pytest.mark.slow


def _run(out_dir: str, *args: str, timeout: int = 900):
    # one thread per process: torch's pool spins on a busy machine
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    return subprocess.run(
        [sys.executable, GPU_CHECK, '--out-dir', out_dir, *args],
        env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope='module')
def rehearsal(tmp_path_factory):
    """The report of one CPU rehearsal (all sections, toy sizes)."""
    out = str(tmp_path_factory.mktemp('gpu_check'))
    proc = _run(out, '--device', 'cpu', '--tiny')
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    with open(osp.join(out, 'gpu_check.json')) as f:
        report = json.load(f)
    with open(osp.join(out, 'gpu_check.md')) as f:
        markdown = f.read()
    return report, markdown


def _result(report, name):
    return report['sections'][name]['result']


def test_every_section_ok(rehearsal):
    report, markdown = rehearsal
    assert list(report['sections']) == SECTIONS
    for name, sec in report['sections'].items():
        assert sec['status'] == 'ok', (name, sec.get('error'))
    assert report['tiny'] is True and report['device'] == 'cpu'
    for name in SECTIONS:
        assert f'| {name} | ok |' in markdown


def test_env_blocks_mmdet_and_mmcv_ops(rehearsal):
    env = _result(rehearsal[0], 'env')
    assert env['device'] == 'cpu'
    assert env['torch'] == torch.__version__
    assert set(env['blocked']) >= {'mmdet', 'mmcv.ops'}
    # the whole pretraining path ran without them
    assert env['mmdet_imported'] is False
    assert env['mmcv_ops_imported'] is False
    assert env['modules']['mmselfemd']['path'].endswith('mmselfemd')
    assert 'torch' in env['packages']


def test_emd_rows(rehearsal):
    emd = _result(rehearsal[0], 'emd')
    assert emd['batch'] == 16
    rows = {(r['nodes'], r['method']): r for r in emd['rows']}
    for nodes in (16, 49):
        exact = rows[(nodes, 'POT exact (ot.emd2, looped, no grad)')]
        assert exact['time_ms'] > 0
        default = [r for (n, m), r in rows.items()
                   if n == nodes and m.startswith('ours, default')]
        assert len(default) == 1 and default[0]['time_ms'] > 0
    # the <= 1 % setting of the EMD benchmark
    assert rows[(49, 'ours, ε=0.01, 100 it')]['error_pct'] < 1.0


def test_step_rows(rehearsal):
    step = _result(rehearsal[0], 'step')
    rows = step['rows']
    assert [(r['dtype'], r['channels_last']) for r in rows] == [
        ('float32', False), ('bfloat16', False), ('bfloat16', True)]
    for r in rows:
        assert r['selfemd_step_s'] > 0 and r['byol_step_s'] > 0
        assert 0 < r['ratio'] < math.inf
        assert 0 < r['selfemd_pairs_per_s'] < math.inf
        assert r['nonfinite_losses'] == 0
        assert len(r['times_s']['Self-EMD']) == step['repeats']
    best = step['best_amp']
    assert best['dtype'] == 'bfloat16'
    # it is one of the measured rows, the fastest under bf16
    assert any(all(r[k] == v for k, v in best.items()) for r in rows)
    assert best['selfemd_step_s'] == min(
        r['selfemd_step_s'] for r in rows if r['dtype'] == 'bfloat16')
    assert step['recipe']['selfemd_step_s'] > 0


def test_head_share(rehearsal):
    head = _result(rehearsal[0], 'head_share')
    assert 0 < head['emd_s'] < head['head_s'] < head['step_s']
    assert head['head_share'] == pytest.approx(
        head['head_s'] / head['step_s'])


def test_amp_counts_no_nonfinite_step(rehearsal):
    amp = _result(rehearsal[0], 'amp')
    assert list(amp['phases']) == [
        'real', 'identical_views', 'constant_images']
    assert [p['steps'] for p in amp['phases'].values()] == [6, 4, 4]
    total = amp['total']
    assert total['steps'] == 14
    assert total['nonfinite_loss_steps'] == 0
    assert total['nonfinite_steps'] == 0
    assert total['params_finite'] is True


def test_dist_resume_is_exact(rehearsal):
    dist = _result(rehearsal[0], 'dist')
    assert dist['backend'] == 'gloo'
    # the rehearsal trains 10 iterations (the GPU check 20), saves at 5
    assert dist['compared_iters'] == list(range(6, 11))
    assert dist['resume_losses_equal'] is True
    assert dist['max_abs_diff'] == 0
    full, resumed = dist['runs']['full'], dist['runs']['resumed']
    assert full['iters_logged'] == list(range(1, 11))
    assert resumed['iters_logged'] == list(range(6, 11))
    assert full['distributed'] and resumed['distributed']
    assert 'iter_5.pth' in full['checkpoints']


def test_data_rate(rehearsal):
    data = _result(rehearsal[0], 'data')
    assert data['pairs_per_s'] > 0 and data['batches'] > 0
    # the default pipeline: the 2 large views (SPC is an ablation)
    assert [tuple(v) for v in data['views']] == [(8, 3, 224, 224)] * 2
    assert data['compared_with'] == 'two_views'
    assert isinstance(data['can_feed'], bool)


def test_targets_not_judged_in_a_rehearsal(rehearsal):
    targets = rehearsal[0]['targets']
    assert set(targets) == {
        'head_share', 'amp_step_ratio', 'pairs_per_s', 'nonfinite_steps'}
    assert targets['nonfinite_steps']['value'] == 0
    assert all(t['met'] is None for t in targets.values())


@pytest.mark.skipif(torch.cuda.is_available(), reason='needs no CUDA')
def test_missing_cuda_is_reported_and_later_sections_run(tmp_path):
    """--device cuda without CUDA: every section fails with one clear
    message, and all of them still run and are recorded."""
    out = str(tmp_path)
    proc = _run(out, '--device', 'cuda', '--sections', 'env', 'emd',
                'head_share', timeout=300)
    assert proc.returncode == 1
    with open(osp.join(out, 'gpu_check.json')) as f:
        report = json.load(f)
    assert list(report['sections']) == ['env', 'emd', 'head_share']
    for sec in report['sections'].values():
        assert sec['status'] == 'failed'
        assert 'CUDA is not available' in sec['error'], sec['error']
