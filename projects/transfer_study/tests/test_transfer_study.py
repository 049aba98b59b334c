# Copyright (c) mmselfemd contributors. All rights reserved.
"""The transfer-study runner (projects.transfer_study.study and its command
line): end to end in --quick mode with a selection group, validation and
test splits and the tests of the report; resume; equal compute; schedule
rescaling; the first study's Self-EMD runs the solver it recorded."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from projects.transfer_study.study import (
    StudyConfig,
    StudyRunner,
    export_study,
    fmt_mean_std,
    mean_std,
    restore_study,
    schedule_options,
)
from projects.transfer_study.study.report import (
    StudyReport,
    describe_comparison,
    spearman,
)

PROJECT = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO = osp.dirname(osp.dirname(PROJECT))
TOOL = 'projects/transfer_study/tools/transfer_study.py'
FIRST = 'projects/transfer_study/configs/selfemd_vs_byol_r18_scenes.py'
SECOND = ('projects/transfer_study/configs/'
          'selfemd_vs_byol_r18-d16_1000it_scenes.py')


def tool_env() -> dict:
    """The command line's environment: the repository importable, one
    thread for the study process (its runs get theirs from ``--threads``;
    the cores are shared) and no ``MMSELFEMD_PRETRAINED`` override of the
    detectors' weights."""
    env = {k: v for k, v in os.environ.items()
           if k != 'MMSELFEMD_PRETRAINED'}
    path = [REPO] + [p for p in [env.get('PYTHONPATH')] if p]
    env.update(PYTHONPATH=os.pathsep.join(path), OMP_NUM_THREADS='1',
               MKL_NUM_THREADS='1')
    return env


@pytest.mark.slow
def test_quick_study_end_to_end_and_resume(tmp_path):
    """The second study's --quick settings: a selection group of two lrs
    on the val split, a 'select' variant with two pretraining seeds and
    random init with two initialisations on the test split."""
    work = tmp_path / 'study'
    cmd = [sys.executable, TOOL, SECOND,
           '--quick', '--jobs', '2', '--threads', '1', '--work-dir',
           str(work)]
    out = subprocess.run(cmd, cwd=REPO, env=tool_env(), text=True,
                         capture_output=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert '12 runs, 0 already done, 12 to run' in out.stdout
    assert 'ETA' in out.stdout
    res = json.loads((work / 'results.json').read_text())
    by_name = {v['name']: v for v in res['variants']}
    assert sorted(by_name) == ['random', 'selfemd', 'selfemd-lr0.0375',
                               'selfemd-lr0.6']
    assert by_name['selfemd-lr0.6']['split'] == 'val'
    assert by_name['selfemd']['split'] == 'test'
    assert (by_name['selfemd']['n'], by_name['random']['n']) == (2, 2)
    # the selection was decided once, from the val runs, and applied
    sel = json.loads((work / 'selection.json').read_text())['selfemd']
    assert set(sel['scores']) == {'selfemd-lr0.0375', 'selfemd-lr0.6'}
    assert by_name['selfemd']['selected'] == [sel['winner']]
    lr = sel['winner'].split('lr')[1]
    log = (work / 'selfemd' / 'pretrain_s1' / 'run.log').read_text()
    assert f'optim_wrapper.optimizer.lr={lr}' in log
    assert 'model.head.diagnostics=exact' in log
    # equal compute for every pretraining
    assert 'train_cfg.max_iters=2' in log
    assert 'train_dataloader.batch_size=4' in log
    # the detectors of the test variants were scored on the test split
    ft = (work / 'selfemd' / 'finetune_p1_f0' / 'run.log').read_text()
    assert 'annotations/instances_test.json' in ft
    ft = (work / 'selfemd-lr0.6' / 'finetune_p0_f0' / 'run.log').read_text()
    assert 'annotations/instances_val.json' in ft
    # random init: one detector initialisation per seed
    for p, seed in ((0, 0), (1, 1000)):
        log = (work / 'random' / f'finetune_p{p}_f0' / 'run.log').read_text()
        assert f'randomness.seed={seed} ' in log
    # the test of selfemd - random, with the pretraining seed as the unit
    comp = [c for c in res['comparisons'] if c['a'] == 'selfemd'
            and c['b'] == 'random'][0]
    assert (comp['n_a'], comp['n_b']) == (2, 2)
    assert comp['ci'][0] <= comp['diff'] <= comp['ci'][1]
    assert comp['mdd'] >= 0
    md = (work / 'results.md').read_text()
    assert '| selfemd | test | 2/2 | 2 |' in md
    assert 'Selection (decided once' in md and 'MDD' in md
    assert (work / 'results.png').stat().st_size > 10000
    assert (work / 'diagnostics.png').stat().st_size > 10000
    # the diagnostics of the Self-EMD pretraining reached the report
    emd = by_name['selfemd']
    assert 0.3 <= emd['emd_entropy_ratio']['mean'] <= 1.0 + 1e-4
    assert 0 < emd['emd_gain_ratio']['mean'] <= 1.0 + 1e-4
    assert 0 < emd['node_cos']['mean'] <= 1.0 + 1e-4
    # only the extracted backbone is kept
    kept = os.listdir(work / 'selfemd' / 'pretrain_s1')
    assert 'backbone.pth' in kept
    assert not [f for f in kept if f.startswith('iter_')]
    # resume: everything is done, nothing runs again
    again = subprocess.run(cmd, cwd=REPO, env=tool_env(), text=True,
                           capture_output=True, timeout=300)
    assert again.returncode == 0, again.stdout[-2000:]
    assert '12 already done, 0 to run' in again.stdout
    assert json.loads((work / 'results.json').read_text())['runs'] == \
        res['runs']
    # a fresh checkout goes on from an exported record: nothing left to run
    record, fresh = tmp_path / 'record', tmp_path / 'fresh'
    out = subprocess.run(cmd + ['--report-only', '--export', str(record)],
                         cwd=REPO, env=tool_env(), text=True,
                         capture_output=True, timeout=300)
    assert 'exported the report and 12 finished runs' in out.stdout
    assert (record / 'results.png').is_file()
    dry = cmd[:-1] + [str(fresh), '--restore', str(record), '--dry-run']
    out = subprocess.run(dry, cwd=REPO, env=tool_env(), text=True,
                         capture_output=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert 'restored 13 files' in out.stdout
    lines = [ln for ln in out.stdout.splitlines()
             if ln.startswith(('done', 'todo'))]
    assert len(lines) == 12 and all(ln.startswith('done') for ln in lines)


def test_interrupted_pretraining_resumes(tmp_path):
    """A pretraining with a checkpoint left behind is started again with
    --resume, as a valid tools/train.py command line."""
    cmd = StudyRunner.pretrain_command('cfg.py', str(tmp_path), ['a=1'])
    assert cmd[1:] == ['tools/train.py', 'cfg.py', '--work-dir',
                       str(tmp_path), '--cfg-options', 'a=1']
    (tmp_path / 'last_checkpoint').write_text('iter_10.pth')
    cmd = StudyRunner.pretrain_command('cfg.py', str(tmp_path), ['a=1'])
    assert cmd[1:] == ['tools/train.py', 'cfg.py', '--work-dir',
                       str(tmp_path), '--resume', '--cfg-options', 'a=1']
    args = train_args(cmd[2:])
    assert args.resume == 'auto' and args.work_dir == str(tmp_path)


def train_args(argv):
    """``tools/train.py``'s parsed command line (``--cfg-options`` as a
    dict, as the tool merges them)."""
    sys.path.insert(0, osp.join(REPO, 'tools'))
    try:
        from train import parse_args
    finally:
        sys.path.pop(0)
    return parse_args(argv)


def test_first_study_selfemd_runs_the_solver_it_recorded(tmp_path):
    """The first study ran its Self-EMD at eps 0.05 on the cost itself
    (eps_mode 'absolute', the head's default then) with 30 iterations
    (records/study1, docs/study_first.md). The head's defaults changed
    since, so the study config pins them: the model that tools/train.py
    builds from the runner's command line has that head, and eps-rel and
    eps0.01 change only what they name."""
    from mmengine.registry import DefaultScope

    from mmselfemd.registry import MODELS
    from mmselfemd.utils import register_all_modules
    runner = StudyRunner(StudyConfig(osp.join(REPO, FIRST)), str(tmp_path),
                         1, 1, REPO)

    def pretrain_cfg(name):
        v = runner.resolve(name)
        cmd = runner.pretrain_command(v['pretrain'], str(tmp_path),
                                      runner.pretrain_options(v, 0))
        args = train_args(cmd[2:])
        cfg = Config.fromfile(osp.join(REPO, args.config))
        cfg.merge_from_dict(args.cfg_options)
        return cfg

    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmselfemd'):
        head = MODELS.build(pretrain_cfg('selfemd').model).head
    assert (head.eps_mode, head.eps, head.num_iters,
            head.solver) == ('absolute', 0.05, 30, 'sinkhorn')
    rel = pretrain_cfg('eps-rel').model.head
    assert (rel.eps_mode, rel.eps, rel.num_iters) == ('relative', 0.05, 30)
    sharp = pretrain_cfg('eps0.01').model.head
    assert (sharp.eps_mode, sharp.eps,
            sharp.num_iters) == ('absolute', 0.01, 100)


def test_resumed_logs_are_merged(tmp_path):
    """An interrupted and resumed pretraining has two log folders: the
    diagnostics and curves cover both, the later start winning."""
    for stamp, iters in (('20260101_000000', (10, 20, 30)),
                         ('20260101_010000', (30, 40))):
        d = tmp_path / stamp / 'vis_data'
        d.mkdir(parents=True)
        d.joinpath('scalars.json').write_text(''.join(
            json.dumps(dict(iter=i, loss=float(i), node_cos=stamp[-5] ==
                            '1')) + '\n' for i in iters))
    out = StudyRunner.pretrain_diagnostics(str(tmp_path))
    assert [p[0] for p in out['curves']['loss']] == [10, 20, 30, 40]
    assert [p[1] for p in out['curves']['node_cos']] == [0, 0, 1, 1]
    assert out['final_loss'] == 40.0


def test_schedule_options_keep_the_shape():
    opts = schedule_options(
        osp.join(REPO, 'configs/selfemd/'
                 'selfemd_resnet18-d16_1xb32-coslr-200it_scenes.py'),
        {}, 1000)
    assert opts == [
        'train_cfg.max_iters=1000', 'param_scheduler.0.begin=0',
        'param_scheduler.0.end=50', 'param_scheduler.1.begin=50',
        'param_scheduler.1.end=1000', 'param_scheduler.1.T_max=950'
    ]
    # a config without iteration-based training is refused
    with pytest.raises(ValueError, match='max_iters'):
        schedule_options(osp.join(REPO, 'configs/selfemd/'
                                  'selfemd_resnet50_8xb32-coslr-800e_coco.py'),
                         {}, 10)


def test_variants_cannot_break_equal_compute(tmp_path):
    cfg = Config.fromfile(osp.join(REPO, FIRST))
    cfg.variants = [
        dict(name='cheat', pretrain=cfg.selfemd,
             cfg_options={'train_cfg.max_iters': 1000})
    ]
    path = tmp_path / 'study.py'
    cfg.dump(str(path))
    with pytest.raises(ValueError, match='equal compute'):
        StudyConfig(str(path))
    with pytest.raises(KeyError, match='unknown variants'):
        StudyConfig(osp.join(REPO, FIRST), only=['nope'])


def test_bad_splits_and_groups_are_named(tmp_path):
    cfg = Config.fromfile(osp.join(REPO, SECOND))
    cfg.variants = cfg.variants + [dict(name='x', pretrain=None,
                                        split='holdout')]
    path = tmp_path / 'study.py'
    cfg.dump(str(path))
    with pytest.raises(KeyError, match='split "holdout"'):
        StudyConfig(str(path))
    cfg = Config.fromfile(osp.join(REPO, SECOND))
    cfg.selection.groups.byol = ['byol-lr0.15', 'byol-lr9']
    cfg.dump(str(path))
    with pytest.raises(KeyError, match='unknown variants .*byol-lr9'):
        StudyConfig(str(path))


def test_first_study_run_order_and_seeds():
    study = StudyConfig(osp.join(REPO, FIRST))
    runs = study.runs()
    # random init is fine-tuned once per fine-tuning seed; the leading
    # variants have a second pretraining seed
    assert [r for r in runs if r[0] == 'random'] == [('random', 0, f)
                                                     for f in (0, 1, 2)]
    assert {r[1] for r in runs if r[0] == 'selfemd'} == {0, 1}
    assert {r[1] for r in runs if r[0] == 'uniform'} == {0}
    # every variant's first seed is scheduled before any second seed
    first_second = min(i for i, r in enumerate(runs) if r[1] == 1)
    assert all(r[1] == 0 for r in runs[:first_second])
    assert {r[0] for r in runs[:first_second]} == {
        v['name'] for v in study.variants}
    # no splits: every variant on the config's own val split
    assert {v['split'] for v in study.variants} == {'val'}


def test_second_study_is_the_registered_design(tmp_path):
    """What configs/selfemd_vs_byol_r18-d16_1000it_scenes.py promises
    before its runs: selection on val, report on test, fresh
    pretraining seeds for the deciding runs, the deciding runs wait for
    their selection group."""
    study = StudyConfig(osp.join(REPO, SECOND))
    runs = study.runs()
    val = {v['name'] for v in study.variants if v['split'] == 'val'}
    test = {v['name'] for v in study.variants if v['split'] == 'test'}
    assert test == {'random', 'byol', 'selfemd'}
    for arm in ('byol', 'selfemd'):
        assert set(study.groups[arm]) <= val
        assert {r[1] for r in runs if r[0] == arm} == {1, 2, 3, 4}
        assert {r[2] for r in runs if r[0] == arm} == {0}
        assert {r[1] for r in runs if r[0] in study.groups[arm]} == {0}
    assert len([r for r in runs if r[0] == 'random']) == 4
    assert study.comparisons()[0] == dict(a='selfemd', b='byol', margin=2.0)
    runner = StudyRunner(study, str(tmp_path), 2, 1, REPO)
    task = runner.pretrain_tasks[('selfemd', 1)]
    assert {d.meta['variant'] for d in task.deps} == set(
        study.groups['selfemd'])
    assert all(d.kind == 'finetune' for d in task.deps)
    # random init: every "pretraining seed" is another initialisation
    rnd = study.variant('random')
    assert {study.finetune_random_seed(rnd, p, 0) for p in range(4)} == {
        0, 1000, 2000, 3000}
    assert study.finetune_random_seed(study.variant('byol'), 3, 1) == 1
    # deciding runs start seed by seed, so a study cut short has pairs
    test_pretrains = [t.name for t in runner.seed_major(runner.tasks)
                      if t.kind == 'pretrain' and t.meta['pseed'] > 0
                      and t.meta['variant'] != 'random']
    assert test_pretrains == [
        f'{arm}/pretrain-s{s}' for s in (1, 2, 3, 4)
        for arm in ('byol', 'selfemd')]
    # random init's runs start after every pretrained arm's
    order = [t.meta['variant'] for t in runner.seed_major(runner.tasks)]
    first_random = order.index('random')
    assert set(order[first_random:]) == {'random'}


def test_recorded_selection_needs_no_member_runs(tmp_path):
    """A decision recorded in selection.json is kept: the deciding runs go
    on without the selection runs (a work dir restored from the committed
    record), take the recorded winner's settings and wait for nothing;
    without the record the members are required."""
    with pytest.raises(ValueError, match='does not record its decision'):
        StudyRunner(StudyConfig(osp.join(REPO, SECOND), only=['selfemd'],
                                decided=['selfemd']), str(tmp_path), 1, 1,
                    REPO)
    # without ``decided`` the group's members are kept and required
    study = StudyConfig(osp.join(REPO, SECOND), only=['selfemd'])
    assert {v['name'] for v in study.variants} == {
        'selfemd', 'selfemd-lr0.0375', 'selfemd-lr0.15', 'selfemd-lr0.6'}
    (tmp_path / 'selection.json').write_text(json.dumps(dict(selfemd=dict(
        winner='selfemd-lr0.15', scores={}, rule='recorded'))))
    decided = StudyRunner.decided_without_runs(osp.join(REPO, SECOND),
                                               str(tmp_path))
    assert decided == ['selfemd']
    # a member's runs in the work dir: the group keeps its members
    (tmp_path / 'selfemd-lr0.6').mkdir()
    assert StudyRunner.decided_without_runs(osp.join(REPO, SECOND),
                                            str(tmp_path)) == []
    (tmp_path / 'selfemd-lr0.6').rmdir()
    study = StudyConfig(osp.join(REPO, SECOND), only=['selfemd', 'random'],
                        decided=decided)
    assert {v['name'] for v in study.variants} == {'selfemd', 'random'}
    runner = StudyRunner(study, str(tmp_path), 1, 1, REPO)
    assert all(t.deps == () for t in runner.tasks if t.kind == 'pretrain')
    resolved = runner.resolve('selfemd')
    assert resolved['selected'] == 'selfemd-lr0.15'
    assert resolved['cfg_options']['optim_wrapper.optimizer.lr'] == 0.15
    assert resolved['cfg_options']['model.head.eps_mode'] == 'std'


def test_export_and_restore_keep_finished_pairs(tmp_path):
    """--export keeps finished fine-tunings with their pretraining and
    leaves out a pretraining whose fine-tuning is not done (its backbone
    does not travel); --restore brings them back into a fresh work dir
    without overwriting, and the runner skips exactly those runs."""
    work, record, fresh = (str(tmp_path / d) for d in ('w', 'rec', 'f'))
    os.makedirs(work)
    with open(osp.join(work, 'selection.json'), 'w') as f:
        json.dump(dict(byol=dict(winner='byol-lr0.6', scores={}),
                       selfemd=dict(winner='selfemd-lr0.0375', scores={})),
                  f)

    def runner_for(path):
        decided = list(StudyRunner.read_selection(path))
        study = StudyConfig(osp.join(REPO, SECOND),
                            only=['byol', 'selfemd'], decided=decided)
        return StudyRunner(study, path, 1, 1, REPO)

    runner = runner_for(work)
    tasks = {t.name: t for t in runner.tasks}
    for name in ('byol/pretrain-s1', 'byol/p1-f0', 'selfemd/pretrain-s1'):
        os.makedirs(tasks[name].work_dir, exist_ok=True)
        tasks[name].write_result(dict(name=name))
    names = export_study(runner, record)
    assert sorted(names) == ['byol/p1-f0', 'byol/pretrain-s1']
    assert osp.isfile(osp.join(record, 'selection.json'))
    # restoring: selection + 2 runs; nothing already there is overwritten
    os.makedirs(osp.join(fresh, 'byol', 'finetune_p1_f0'))
    mine = osp.join(fresh, 'byol', 'finetune_p1_f0', 'result.json')
    with open(mine, 'w') as f:
        json.dump(dict(name='kept'), f)
    assert restore_study(record, fresh) == 2
    with open(mine) as f:
        assert json.load(f) == dict(name='kept')
    done = sorted(t.name for t in runner_for(fresh).tasks if t.done)
    assert done == ['byol/p1-f0', 'byol/pretrain-s1']
    with pytest.raises(FileNotFoundError, match='--export'):
        restore_study(str(tmp_path / 'missing'), fresh)


def test_report_names_a_restored_selection(tmp_path):
    """A decision restored from a record says so in results.md (the
    selection runs behind it are not in the work dir)."""
    (tmp_path / 'selection.json').write_text(json.dumps(dict(byol=dict(
        winner='byol-lr0.6', scores={'byol-lr0.6': 58.2}, rule='highest',
        record='restored from the study page'))))
    study = StudyConfig(osp.join(REPO, SECOND), only=['byol'],
                        decided=['byol'])
    StudyReport(StudyRunner(study, str(tmp_path), 1, 1, REPO)).write()
    md = (tmp_path / 'results.md').read_text()
    assert ('- byol: **byol-lr0.6** (byol-lr0.6 58.2; rule: highest); '
            'restored from the study page') in md


def test_report_helpers():
    ms = mean_std([30.0, 32.0, 34.0])
    assert ms['mean'] == 32.0 and abs(ms['std'] - 2.0) < 1e-12
    assert fmt_mean_std(ms) == '32.0 ± 2.0'
    variants = [dict(name=n, probe_bacc=mean_std([p]), ap=mean_std([a]))
                for n, p, a in (('a', 1, 10), ('b', 2, 20), ('c', 3, 15))]
    rho = spearman(variants)
    assert abs(rho['rho'] - 0.5) < 1e-12 and rho['n'] == 3


def test_comparison_lines_of_a_study_cut_short():
    # a side without finished runs says so instead of printing "+nan AP"
    c = dict(a='selfemd', b='byol', split='test', diff=float('nan'),
             note='fewer than 2 pretraining seeds on a side: no test')
    line = describe_comparison(c)
    assert 'nan' not in line and 'no finished runs' in line
    line = describe_comparison(dict(c, diff=-1.25))
    assert line.startswith('selfemd − byol (test): -1.25 AP; fewer')


def test_partial_comparison_states_the_planned_mdd(tmp_path):
    """The second study cut short after 2 of its 4 pretraining seeds: the
    test runs on what is there and says what the planned n would detect,
    which is smaller than the MDD at the n reached."""
    study = StudyConfig(osp.join(REPO, SECOND))
    report = StudyReport(StudyRunner(study, str(tmp_path), 2, 1, REPO))
    runs = [dict(variant=v, pseed=p, fseed=f, split='test', ap=ap + f)
            for v, aps in (('selfemd', {1: 50.0, 2: 53.0}),
                           ('byol', {1: 51.0, 2: 55.0}))
            for p, ap in aps.items() for f in (0, 1)]
    variants = [dict(name=v, split='test', ap=dict(mean=m))
                for v, m in (('selfemd', 52.0), ('byol', 53.5),
                             ('random', float('nan')))]
    comp = {(c['a'], c['b']): c
            for c in report.comparisons(runs, variants)}
    c = comp[('selfemd', 'byol')]
    assert (c['n_a'], c['n_b']) == (2, 2) and c['planned_n'] == [4, 4]
    assert 0 < c['mdd_planned'] < c['mdd']
    assert abs(c['diff'] + 1.5) < 1e-9
    line = describe_comparison(c)
    assert '**partial**: 2 and 2 of the planned 4 and 4 seeds' in line
    # random init has no runs: no test, and no NaN printed
    assert 'no finished runs' in describe_comparison(
        comp[('selfemd', 'random')])


def test_diagnostics_legend_names_only_runs_with_curves(tmp_path):
    """Random init has no pretraining curves: its colour and its seed's
    line style are not in the diagnostics figure's legend."""
    pts = [(100, 0.5), (200, 0.6)]
    curves = {('selfemd', 1): dict(emd_entropy_ratio=pts, node_cos=pts),
              ('byol', 2): dict(node_cos=pts),
              ('random', 0): {}}
    out = tmp_path / 'diagnostics.png'
    labels = StudyReport.plot_diagnostics(curves, str(out))
    assert labels == ['byol', 'selfemd', 'seed 1', 'seed 2']
    assert out.stat().st_size > 10000
