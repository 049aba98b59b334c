# Copyright (c) mmselfemd contributors. All rights reserved.
"""projects/demo/tools/demo_margin.py: the demo's margin over seeds."""
import importlib.util
import json
import os.path as osp

import pytest
from scipy import stats

TOOL = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools',
                'demo_margin.py')


@pytest.fixture(scope='module')
def tool():
    """The script, imported as a module."""
    spec = importlib.util.spec_from_file_location('demo_margin_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(tmp_path, seed, selfemd, random, **extra):
    d = tmp_path / f'seed{seed}'
    d.mkdir()
    rec = dict(seed=seed, selfemd_mAP=selfemd, random_mAP=random,
               quick=False, **extra)
    (d / 'demo_results.json').write_text(json.dumps(rec))
    return str(d)


def test_margins_and_paired_interval(tool, tmp_path, capsys):
    pre, rnd = [40.4, 38.9, 43.5, 35.0], [30.4, 30.5, 31.0, 29.0]
    # given out of seed order: the rows come sorted by seed
    dirs = [_run(tmp_path, s, a, b) for s, a, b in
            zip([2, 0, 3, 1], pre, rnd)]
    out_json, out_png = tmp_path / 'm.json', tmp_path / 'm.png'
    res = tool.run(tool.parse_args([*dirs, '--out-json', str(out_json),
                                    '--out-png', str(out_png)]))
    assert res['seeds'] == [0, 1, 2, 3]
    assert res['diffs'] == pytest.approx([8.4, 6.0, 10.0, 12.5])
    assert res['at_or_above_bar'] == 2
    ref = stats.ttest_rel([38.9, 35.0, 40.4, 43.5], [30.5, 29.0, 30.4, 31.0])
    ci = ref.confidence_interval(0.95)
    assert res['ci'] == pytest.approx([ci.low, ci.high], rel=1e-9)
    assert res['p_above'] == pytest.approx(
        stats.ttest_1samp([8.4 - 10, 6.0 - 10, 10.0 - 10, 12.5 - 10], 0,
                          alternative='greater').pvalue)
    out = capsys.readouterr().out
    assert 'mean margin +9.22 AP' in out and '2 of 4 seeds >= 10' in out
    assert json.loads(out_json.read_text())['n'] == 4
    assert out_png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_bar_is_a_parameter(tool, tmp_path):
    dirs = [_run(tmp_path, s, 40.0 + s, 30.0) for s in range(3)]
    res = tool.run(tool.parse_args([*dirs, '--bar', '11.5']))
    assert res['bar'] == 11.5 and res['at_or_above_bar'] == 1
    assert res['p_above'] + res['p_below'] == pytest.approx(1.0)


@pytest.mark.parametrize('case, match', [
    ('missing', 'not a finished demo run'),
    ('quick', 'is a --quick run'),
    ('twice', 'seed 0 appears twice'),
    ('nokey', 'has no "random_mAP"'),
    ('one', 'need at least 2 seeds'),
])
def test_bad_input_is_named(tool, tmp_path, capsys, case, match):
    dirs = [_run(tmp_path, 0, 40.0, 30.0)]
    if case == 'missing':
        (tmp_path / 'empty').mkdir()
        dirs.append(str(tmp_path / 'empty'))
    elif case == 'quick':
        d = tmp_path / 'q'
        d.mkdir()
        (d / 'demo_results.json').write_text(json.dumps(dict(
            seed=1, selfemd_mAP=1.0, random_mAP=0.0, quick=True)))
        dirs.append(str(d))
    elif case == 'twice':
        d = tmp_path / 'again'
        d.mkdir()
        (d / 'demo_results.json').write_text(json.dumps(dict(
            seed=0, selfemd_mAP=41.0, random_mAP=30.0)))
        dirs.append(str(d))
    elif case == 'nokey':
        d = tmp_path / 'nokey'
        d.mkdir()
        (d / 'demo_results.json').write_text(json.dumps(dict(
            seed=1, selfemd_mAP=41.0)))
        dirs.append(str(d))
    with pytest.raises(SystemExit) as exc:
        tool.main(dirs)
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert match in err and 'demo_margin.py: error' in err
