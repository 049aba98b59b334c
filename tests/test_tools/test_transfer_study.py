# Copyright (c) mmselfemd contributors. All rights reserved.
"""The transfer-study runner: end to end in --quick mode, resume, equal
compute, schedule rescaling and the report's statistics."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from .conftest import REPO, load_tool, tool_env

STUDY = 'configs/studies/selfemd_vs_byol_r18_scenes.py'


@pytest.fixture(scope='module')
def ts():
    return load_tool('analysis_tools/transfer_study.py')


def test_quick_study_end_to_end_and_resume(tmp_path):
    work = tmp_path / 'study'
    cmd = [sys.executable, 'tools/analysis_tools/transfer_study.py', STUDY,
           '--quick', '--jobs', '2', '--threads', '1', '--work-dir',
           str(work)]
    out = subprocess.run(cmd, cwd=REPO, env=tool_env(), text=True,
                         capture_output=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert '4 to run' in out.stdout and 'ETA' in out.stdout
    res = json.loads((work / 'results.json').read_text())
    names = [v['name'] for v in res['variants']]
    assert names == ['random', 'selfemd']
    assert len(res['runs']) == 2
    for v in res['variants']:
        assert v['n'] == v['expected'] == 1
        assert 0 <= v['ap']['mean'] <= 100
        assert 0 <= v['probe_bacc']['mean'] <= 100
    emd = res['variants'][1]
    # the diagnostics of the Self-EMD pretraining reached the report
    assert 0.5 <= emd['emd_entropy_ratio']['mean'] <= 1.0 + 1e-4
    assert emd['emd_entropy_ratio']['n'] == 1
    assert res['variants'][0]['emd_entropy_ratio']['n'] == 0  # random
    md = (work / 'results.md').read_text()
    assert '| random | 1/1 |' in md and '| selfemd | 1/1 |' in md
    assert (work / 'results.png').stat().st_size > 10000
    assert (work / 'diagnostics.png').stat().st_size > 10000
    # equal compute: both pretraining runs got the study's iterations and
    # batch; the random variant was not pretrained
    log = (work / 'selfemd' / 'pretrain_s0' / 'run.log').read_text()
    assert 'train_cfg.max_iters=2' in log
    assert 'train_dataloader.batch_size=4' in log
    assert not (work / 'random' / 'pretrain_s0' / 'run.log').exists()
    # only the extracted backbone is kept
    kept = os.listdir(work / 'selfemd' / 'pretrain_s0')
    assert 'backbone.pth' in kept
    assert not [f for f in kept if f.startswith('iter_')]
    # resume: everything is done, nothing runs again
    again = subprocess.run(cmd, cwd=REPO, env=tool_env(), text=True,
                           capture_output=True, timeout=300)
    assert again.returncode == 0, again.stdout[-2000:]
    assert '4 already done, 0 to run' in again.stdout
    assert json.loads((work / 'results.json').read_text())['runs'] == \
        res['runs']
    # --reprobe probes the finished pretrainings again, trains nothing
    pre = work / 'selfemd' / 'pretrain_s0' / 'result.json'
    before = json.loads(pre.read_text())
    probe = subprocess.run(cmd + ['--reprobe'], cwd=REPO, env=tool_env(),
                           text=True, capture_output=True, timeout=300)
    assert probe.returncode == 0, probe.stdout[-2000:] + probe.stderr[-2000:]
    assert 'probed selfemd/pretrain-s0' in probe.stdout
    after = json.loads(pre.read_text())
    assert after['probe']['bacc'] == before['probe']['bacc']  # same boxes
    assert 0 < after['probe']['node_cos'] <= 1 + 1e-6
    assert after['pretrain_seconds'] == before['pretrain_seconds']


def test_schedule_options_keep_the_shape(ts):
    opts = ts.schedule_options(
        'configs/selfemd/selfemd_resnet18-d16_1xb32-coslr-200it_scenes.py',
        {}, 400)
    assert opts == [
        'train_cfg.max_iters=400', 'param_scheduler.0.begin=0',
        'param_scheduler.0.end=20', 'param_scheduler.1.begin=20',
        'param_scheduler.1.end=400', 'param_scheduler.1.T_max=380'
    ]
    # a config without iteration-based training is refused
    with pytest.raises(ValueError, match='max_iters'):
        ts.schedule_options('configs/selfemd/'
                            'selfemd_resnet50_8xb32-coslr-800e_coco.py', {},
                            10)


def test_variants_cannot_break_equal_compute(ts, tmp_path):
    cfg = Config.fromfile(osp.join(REPO, STUDY))
    cfg.variants = [
        dict(name='cheat', pretrain=cfg.selfemd,
             cfg_options={'train_cfg.max_iters': 1000})
    ]
    path = tmp_path / 'study.py'
    cfg.dump(str(path))
    with pytest.raises(ValueError, match='equal compute'):
        ts.Study(str(path))
    with pytest.raises(KeyError, match='unknown variants'):
        ts.Study(osp.join(REPO, STUDY), only=['nope'])


def test_run_order_and_seeds(ts):
    study = ts.Study(osp.join(REPO, STUDY))
    runs = study.runs()
    # random init is fine-tuned once per fine-tuning seed, not per
    # pretraining seed; the leading variants have a second pretraining seed
    assert [r for r in runs if r[0] == 'random'] == [('random', 0, f)
                                                     for f in (0, 1, 2)]
    assert {r[1] for r in runs if r[0] == 'selfemd'} == {0, 1}
    assert {r[1] for r in runs if r[0] == 'uniform'} == {0}
    # every variant's first seed is scheduled before any second seed
    first_second = min(i for i, r in enumerate(runs) if r[1] == 1)
    assert all(r[1] == 0 for r in runs[:first_second])
    assert {r[0] for r in runs[:first_second]} == {
        v['name'] for v in study.variants}


def test_report_statistics(ts):
    ms = ts._mean_std([30.0, 32.0, 34.0])
    assert ms['mean'] == 32.0 and abs(ms['std'] - 2.0) < 1e-12
    assert ts._fmt(ms) == '32.0 ± 2.0'
    variants = [dict(name=n, probe_bacc=ts._mean_std([p]),
                     ap=ts._mean_std([a]))
                for n, p, a in (('a', 1, 10), ('b', 2, 20), ('c', 3, 15))]
    rho = ts._spearman(variants)
    assert abs(rho['rho'] - 0.5) < 1e-12 and rho['n'] == 3
