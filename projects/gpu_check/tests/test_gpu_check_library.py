# Copyright (c) mmselfemd contributors. All rights reserved.
"""projects.gpu_check without running the sections: what it imports,
the section loop (failures, budget, report files), the targets, the
markdown layout. The whole check runs in test_gpu_check.py (the CPU
rehearsal)."""
import argparse
import importlib
import importlib.util
import json
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from projects.benchmarks import project_path
from projects.gpu_check import (
    SECTIONS,
    CheckContext,
    Deadline,
    block_modules,
    clean_report,
    judge_targets,
    render_markdown,
    run_gpu_check,
)

runner = importlib.import_module('projects.gpu_check.run_gpu_check')


def _args(tmp_path, **kw):
    args = dict(device='cpu', tiny=True, budget=None, sections=['env'],
                images=None, workers=None, allow_full_mmcv=True,
                keep_scratch=False, out_dir=str(tmp_path))
    args.update(kw)
    return argparse.Namespace(**args)


def test_import_leaves_mmcv_ops_and_mmdet_blockable():
    """The tool imports mmselfemd and the library before it blocks
    mmdet and mmcv's ops, so they must not import them (nor what imports
    them)."""
    code = ('import sys, mmselfemd, projects.gpu_check; print(sorted(m '
            'for m in sys.modules if m.split(".")[0] in ("mmdet", "mmcv", '
            '"mmpretrain") or m.startswith("mmselfemd.models")))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, check=True, cwd=project_path()).stdout
    assert out.strip() == '[]'


def test_block_modules():
    # names already imported are left alone
    blocked = block_modules(['not_a_module_y', 'json'])
    try:
        assert blocked == ['not_a_module_y']
        assert sys.modules['json'] is json
        with pytest.raises(ModuleNotFoundError):
            import not_a_module_y  # noqa: F401
    finally:
        del sys.modules['not_a_module_y']


def test_project_path_holds_the_configs():
    assert osp.isfile(project_path('configs', '_base_', 'models',
                                   'selfemd_resnet50.py'))
    assert osp.isfile(project_path('tools', 'train.py'))


def test_project_path_without_a_checkout(tmp_path):
    """projects/ carried without configs/ and tools/ (the GPU bundle):
    the paths point into the installed mmselfemd's .mim/ folder."""
    folder = tmp_path / 'projects' / 'benchmarks'
    folder.mkdir(parents=True)
    shutil.copy(project_path('projects', 'benchmarks', 'project_path.py'),
                str(folder))
    spec = importlib.util.spec_from_file_location(
        'carried_project_path', str(folder / 'project_path.py'))
    carried = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(carried)
    assert carried.ROOT == str(tmp_path)
    package = osp.dirname(importlib.util.find_spec('mmselfemd').origin)
    assert carried.project_path('tools', 'train.py') == osp.join(
        package, '.mim', 'tools', 'train.py')


def test_deadline():
    assert 9 < Deadline(10).left() <= 10
    assert Deadline(-1).left() < 0


def test_context_device_and_defaults(tmp_path):
    ctx = CheckContext(_args(tmp_path), str(tmp_path), [])
    assert ctx.device.type == 'cpu' and not ctx.cuda
    assert ctx.size['step']['depth'] == 18
    assert ctx.best_amp_setting() == ('bfloat16', False)
    ctx.results['step'] = dict(result=dict(best_amp=dict(
        dtype='bfloat16', channels_last=True)))
    assert ctx.best_amp_setting() == ('bfloat16', True)
    assert not ctx.judged


def test_loop_records_failures_and_writes_the_report(tmp_path, monkeypatch):
    calls = []

    def ok(ctx, deadline):
        calls.append(('ok', deadline.left() > 0))
        return dict(value=1.5, bad=float('nan'))

    def partial(ctx, deadline):
        calls.append('partial')
        return dict(_status='partial')  # (an empty result)

    def boom(ctx, deadline):
        raise ValueError('broken')

    monkeypatch.setattr(runner, 'SECTION_FNS',
                        dict(env=ok, emd=boom, step=partial))
    args = _args(tmp_path, sections=['env', 'emd', 'step'], budget=60)
    report = run_gpu_check(args, command='gpu_check.py --tiny')
    assert calls == [('ok', True), 'partial']
    sections = report['sections']
    assert list(sections) == ['env', 'emd', 'step']
    assert sections['env']['status'] == 'ok'
    assert sections['env']['result']['value'] == 1.5
    assert sections['emd']['status'] == 'failed'
    assert sections['emd']['error'] == 'ValueError: broken'
    assert 'Traceback' in sections['emd']['traceback']
    assert sections['step']['status'] == 'partial'
    # the plan: shares of the budget, proportional to PLAN_S
    assert 0 < sections['env']['cap_s'] < sections['step']['cap_s'] <= 60
    with open(osp.join(str(tmp_path), 'gpu_check.json')) as f:
        saved = json.load(f)
    assert saved['sections']['env']['result']['bad'] is None  # NaN
    assert saved['command'] == 'gpu_check.py --tiny'
    assert set(saved) >= {'version', 'started', 'finished', 'elapsed_s',
                          'device', 'tiny', 'budget_s', 'targets'}
    with open(osp.join(str(tmp_path), 'gpu_check.md')) as f:
        md = f.read()
    assert '| emd | failed |' in md and 'ValueError: broken' in md


def test_no_time_left(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, 'SECTION_FNS', dict(env=lambda c, d: {}))
    report = run_gpu_check(_args(tmp_path, budget=0.5))
    assert report['sections']['env']['status'] == 'timeout'
    assert 'no time left' in report['sections']['env']['error']


def _results(share=0.1, ratio=1.2, pairs=800.0, nonfinite=0, finite=True):
    return dict(
        head_share=dict(result=dict(head_share=share)),
        step=dict(result=dict(best_amp=dict(
            ratio=ratio, selfemd_pairs_per_s=pairs))),
        amp=dict(result=dict(total=dict(nonfinite_steps=nonfinite,
                                        params_finite=finite))))


def test_targets_judged_only_on_a_full_cuda_run(tmp_path):
    ctx = CheckContext(_args(tmp_path), str(tmp_path), [])
    ctx.results = _results()
    targets = judge_targets(ctx)
    assert set(targets) == {'head_share', 'amp_step_ratio', 'pairs_per_s',
                            'nonfinite_steps'}
    assert targets['head_share']['value'] == 0.1
    assert all(t['met'] is None for t in targets.values())
    # as judged on CUDA
    ctx.__class__ = type('Judged', (CheckContext, ),
                         dict(judged=property(lambda self: True)))
    targets = judge_targets(ctx)
    assert [targets[k]['met'] for k in targets] == [False, False, False,
                                                    True]
    ctx.results = _results(0.04, 1.01, 1200.0, 0, finite=False)
    targets = judge_targets(ctx)
    assert targets['nonfinite_steps']['value'] == 1  # non-finite params
    assert [targets[k]['met'] for k in targets] == [True, True, True,
                                                    False]
    ctx.results = {}
    assert all(t['value'] is None and t['met'] is None
               for t in judge_targets(ctx).values())


def test_markdown_of_a_report_with_every_section_failed():
    report = clean_report(dict(
        version=1, command='c', started='s', device='cpu', tiny=True,
        budget_s=300.0, targets={},
        sections={n: dict(status='failed', error='E|x\ny') for n in
                  SECTIONS}))
    md = render_markdown(report)
    assert md.startswith('# GPU check of mmselfemd\n')
    assert '(tiny rehearsal)' in md
    assert '| env | failed | - | E/x y |' in md
    assert '## Targets' in md and '## EMD solver' not in md


def test_pretraining_builds_without_the_blocked_modules():
    """Found on the H200: the registry imported pycocotools (the RoI
    probe's reader), which the GPU bundle does not carry, so every section
    that builds a model failed. With ``BLOCKED`` made unimportable, the
    registries and the default Self-EMD model must still build."""
    code = ('from projects.gpu_check import block_modules\n'
            'assert "pycocotools" in block_modules()\n'
            'from mmengine.config import Config\n'
            'from mmselfemd.registry import MODELS\n'
            'from mmselfemd.utils import register_all_modules\n'
            'register_all_modules()\n'
            'cfg = Config.fromfile("configs/_base_/models/'
            'selfemd_resnet50.py")\n'
            'print(type(MODELS.build(cfg.model)).__name__)\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, cwd=project_path(), timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == 'SelfEMD'
