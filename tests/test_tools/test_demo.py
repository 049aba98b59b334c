# Copyright (c) mmselfemd contributors. All rights reserved.
"""README's main command, end to end, with a few iterations per stage."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.slow  # the whole demo: data, pretraining, two fine-tunings
def test_demo_quick_end_to_end(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, 'tools/run_demo.py', '--work-dir',
         str(tmp_path), '--quick', '--seed', '3'],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    # every stage reported progress, and the summary names both inits
    for stage in ('data', 'pretrain', 'finetune-selfemd', 'finetune-random',
                  'pictures'):
        assert stage in out
    assert 'Self-EMD pretrained' in out and 'random init' in out
    for name in ('pretrain_loss.png', 'transport_plan.png'):
        path = tmp_path / name
        assert f'{path}' in out
        with open(path, 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    # the fine-tuning really started from the extracted backbone
    log = (tmp_path / 'finetune-selfemd.log').read_text()
    assert 'selfemd_resnet18_backbone.pth' in log
    assert osp.isfile(tmp_path / 'selfemd_resnet18_backbone.pth')
    # a shorter pretraining keeps the schedule's shape: the cosine ends
    # with the run instead of at the config's 100 iterations
    from mmengine.config import Config
    cfg = Config.fromfile(
        tmp_path / 'pretrain' / 'selfemd_resnet18_1xb32-coslr-100it_demo.py')
    assert cfg.train_cfg.max_iters == 4
    assert cfg.param_scheduler[-1]['end'] == 4
    # --seed reaches the pretraining and both fine-tunings
    for sub in ('pretrain', 'finetune-selfemd', 'finetune-random'):
        dumped = [f for f in os.listdir(tmp_path / sub) if f.endswith('.py')]
        assert len(dumped) == 1, (sub, dumped)
        assert Config.fromfile(tmp_path / sub / dumped[0]).randomness[
            'seed'] == 3, sub
    # the numbers of the run, for projects/demo/tools/demo_margin.py
    res = json.loads((tmp_path / 'demo_results.json').read_text())
    assert res['seed'] == 3 and res['quick'] is True
    assert res['pretrain_iters'] == 4 and res['finetune_iters'] == 4
    assert res['margin'] == round(res['selfemd_mAP'] - res['random_mAP'], 2)
    assert f'{tmp_path / "demo_results.json"}' in out
