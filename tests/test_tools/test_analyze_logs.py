# Copyright (c) mmselfemd contributors. All rights reserved.
"""tools/analysis_tools/analyze_logs.py: curves and time per iteration."""
import json
import os.path as osp

import pytest

from .conftest import load_tool


@pytest.fixture(scope='module')
def tool():
    return load_tool('analysis_tools/analyze_logs.py')


def _write(path, records) -> str:
    with open(path, 'w') as f:
        for rec in records:
            f.write(json.dumps(rec) + '\n')
    return str(path)


def _selfemd_records():
    recs = []
    for it in range(1, 6):
        recs.append(dict(lr=0.1 * it, data_time=0.01 * it, loss=10. - it,
                         loss_emd=5. - it, emd_entropy_ratio=0.9 + it / 100,
                         time=[9., 1., 2., 3., 10.][it - 1], iter=it,
                         step=it))
    # a validation record: no iter, its own time
    recs.append({'coco/bbox_mAP': 0.1, 'time': 50., 'step': 5})
    return recs


def _byol_records():
    return [
        dict(lr=0.2, loss=3., time=1., data_time=0.1, iter=it, step=it)
        for it in range(1, 4)
    ]


def test_plots_exactly_the_given_keys(tool, tmp_path, capsys):
    runs = {
        'Self-EMD': _selfemd_records(),
        'BYOL': _byol_records(),
    }
    fig, points = tool.plot_curves(runs, ['loss', 'emd_entropy_ratio', 'lr'])
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == [
        'loss', 'emd_entropy_ratio', 'lr'
    ]
    lines = {ax.get_title(): {ln.get_label(): ln for ln in ax.get_lines()}
             for ax in axes}
    assert set(lines['loss']) == {'Self-EMD', 'BYOL'}
    assert set(lines['emd_entropy_ratio']) == {'Self-EMD'}  # BYOL lacks it
    assert list(lines['loss']['Self-EMD'].get_xdata()) == [1, 2, 3, 4, 5]
    assert list(lines['loss']['Self-EMD'].get_ydata()) == [9, 8, 7, 6, 5]
    assert list(lines['lr']['BYOL'].get_ydata()) == [0.2, 0.2, 0.2]
    # legends name the runs
    legend = axes[0].get_legend()
    assert sorted(t.get_text() for t in legend.get_texts()) == [
        'BYOL', 'Self-EMD'
    ]
    assert points['emd_entropy_ratio'].keys() == {'Self-EMD'}


def test_command_line_png_and_sidecar(tool, tmp_path, capsys):
    a = _write(tmp_path / 'a.json', _selfemd_records())
    b = _write(tmp_path / 'b.json', _byol_records())
    out = str(tmp_path / 'plots' / 'curves.png')
    tool.main(['plot_curve', a, b, '--keys', 'loss_emd', 'coco/bbox_mAP',
               '--legend', 'selfemd', 'byol', '--out', out])
    with open(out, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    with open(osp.join(tmp_path, 'plots', 'curves.json')) as f:
        points = json.load(f)
    assert list(points) == ['loss_emd', 'coco/bbox_mAP']
    assert points['loss_emd'] == {
        'selfemd': dict(x=[1, 2, 3, 4, 5], y=[4., 3., 2., 1., 0.])
    }
    # validation metrics are plotted at their step
    assert points['coco/bbox_mAP'] == {'selfemd': dict(x=[5], y=[0.1])}
    stdout = capsys.readouterr().out
    assert 'note: run "byol" did not log "loss_emd"' in stdout


def test_key_logged_by_no_run(tool, tmp_path, capsys):
    a = _write(tmp_path / 'a.json', _byol_records())
    with pytest.raises(SystemExit):
        tool.main(['plot_curve', a, '--keys', 'loss', 'loss_typo',
                   '--out', str(tmp_path / 'x.png')])
    msg = capsys.readouterr().err
    assert 'key "loss_typo" is logged by none of the runs' in msg
    assert "['data_time', 'loss', 'lr', 'time']" in msg
    assert not (tmp_path / 'x.png').exists()


def test_legend_count_must_match(tool, tmp_path, capsys):
    a = _write(tmp_path / 'a.json', _byol_records())
    with pytest.raises(SystemExit):
        tool.main(['plot_curve', a, '--legend', 'x', 'y'])
    assert '--legend has 2 names for 1 runs' in capsys.readouterr().err


def test_train_time_iteration_based(tool, tmp_path, capsys):
    a = _write(tmp_path / 'a.json', _selfemd_records())
    tool.main(['cal_train_time', a])
    out = capsys.readouterr().out
    # first record (9 s, start-up) and the validation record are left out
    assert 'time     : mean 4.0000 s/iter, median 2.5000, std 3.5355 over 4' \
        in out
    assert 'data_time: mean 0.0350 s/iter, median 0.0350' in out
    tool.main(['cal_train_time', a, '--include-outliers'])
    out = capsys.readouterr().out
    assert 'time     : mean 5.0000 s/iter, median 3.0000' in out


def test_train_time_epoch_based(tool):
    records = [
        dict(time=t, data_time=0., epoch=e, iter=i, step=i)
        for i, (e, t) in enumerate([(1, 9.), (1, 2.), (1, 2.), (2, 9.),
                                    (2, 4.), (2, 6.)], 1)
    ]
    stats = tool.train_time(records)
    assert stats['epochs'] == {1: 2.0, 2: 5.0}  # first of each epoch out
    assert stats['time']['n'] == 4
    assert stats['time']['mean'] == pytest.approx(3.5)


@pytest.mark.slow  # tiny_selfemd_run trains
def test_real_run(tool, tiny_selfemd_run, tmp_path, capsys):
    """A tools/train.py run, given as its work directory."""
    out = str(tmp_path / 'curves.png')
    tool.main(['plot_curve', tiny_selfemd_run['work_dir'], '--keys', 'loss',
               'lr', 'emd_entropy_ratio', '--legend', 'tiny', '--out', out])
    with open(tiny_selfemd_run['scalars']) as f:
        records = [json.loads(line) for line in f]
    with open(str(tmp_path / 'curves.json')) as f:
        points = json.load(f)
    for key in ('loss', 'lr', 'emd_entropy_ratio'):
        assert points[key]['tiny'] == dict(
            x=[r['iter'] for r in records], y=[r[key] for r in records])
    tool.main(['cal_train_time', tiny_selfemd_run['work_dir']])
    out = capsys.readouterr().out
    assert tiny_selfemd_run['scalars'] in out
    assert 'over 3 records' in out  # 4 iterations, the first left out
