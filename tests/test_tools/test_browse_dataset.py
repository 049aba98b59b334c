# Copyright (c) mmselfemd contributors. All rights reserved.
"""tools/analysis_tools/browse_dataset.py on the study's scenes config (the
demo recipe with SPC small views, one per large view)."""
import os
import os.path as osp
import subprocess
import sys

import mmcv
import pytest

from .conftest import REPO, TOOLS, load_tool, tool_env

DEMO_CFG = osp.join(REPO, 'configs', 'selfemd',
                    'selfemd_resnet18-d16_1xb32-coslr-200it_scenes.py')
BROWSE = osp.join(TOOLS, 'analysis_tools', 'browse_dataset.py')


def _run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, BROWSE, DEMO_CFG, *args],
                          env=tool_env(),
                          capture_output=True,
                          text=True,
                          timeout=300)


def test_dataset_images(scenes_root, tmp_path):
    """The first N images of the config's training set, one PNG each."""
    out = tmp_path / 'browse'
    proc = _run('-n', '2', '-o', str(out), '--cfg-options',
                f'train_dataloader.dataset.data_root={scenes_root}/')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = sorted(os.listdir(out))
    assert len(files) == 2 and files[0].startswith('0000_'), files
    # the scenes recipe: 2 large views, 1 small view each
    assert proc.stdout.count('2 large and 2 small views') == 2
    img = mmcv.imread(str(out / files[0]))
    # two rows (one per large view): source + large view + 1 small view,
    # each panel 224 px high
    assert img.shape[0] > 2 * 224 and img.shape[1] > 3 * 224


def test_own_images_folder(scenes_root, tmp_path):
    folder = osp.join(scenes_root, 'train')
    out = tmp_path / 'own'
    proc = _run('--images', folder, '-n', '3', '-o', str(out), '--seed', '3')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = sorted(f for f in os.listdir(folder) if f.endswith('.jpg'))
    assert sorted(os.listdir(out)) == [
        f'{i:04d}_{osp.splitext(n)[0]}.png' for i, n in enumerate(names[:3])
    ]


def test_missing_images_is_one_line(tmp_path, capsys):
    tool = load_tool('analysis_tools/browse_dataset.py')
    with pytest.raises(SystemExit) as exc:
        tool.main([DEMO_CFG, '--images', str(tmp_path / 'nope'), '-o',
                   str(tmp_path)])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith('tools/analysis_tools/browse_dataset.py: error: '
                          'FileNotFoundError:') and '\n' not in err
    assert 'does not exist' in err
