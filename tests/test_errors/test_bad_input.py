# Copyright (c) mmselfemd contributors. All rights reserved.
"""Bad input to tools/train.py: one-paragraph errors, exit status 1.

Each case runs tools/train.py as a user would and checks that stderr ends
with a single ``tools/train.py: error: ...`` paragraph naming the thing
that is wrong and what was expected, with no traceback (``--debug`` shows
it).
"""
import os.path as osp
import subprocess
import sys

# the engine tests' tiny config and training environment (its test hooks
# importable)
from test_engine.conftest import REPO, TINY_CFG, TRAIN, train_env

FASTER_1X = osp.join(REPO, 'configs', 'benchmarks', 'mmdetection', 'coco',
                     'faster-rcnn_r50-pre_fpn-syncbn_8xb2-1x_coco.py')


def _fail(tmp_path, config: str, *options: str, debug: bool = False) -> str:
    """Run tools/train.py, expect exit 1, return the error paragraph."""
    cmd = [sys.executable, TRAIN, config, '--work-dir', str(tmp_path / 'w')]
    if debug:
        cmd.append('--debug')
    if options:
        cmd += ['--cfg-options', *options]
    proc = subprocess.run(
        cmd, env=train_env(), capture_output=True, text=True, timeout=180)
    assert proc.returncode == 1, proc.stderr[-3000:]
    if debug:
        assert 'Traceback (most recent call last)' in proc.stderr
        return proc.stderr
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith('tools/train.py: error: '), lines[-5:]
    return lines[-1]


def test_wrong_data_root(tmp_path):
    root = str(tmp_path / 'no_such_dir')
    msg = _fail(tmp_path, TINY_CFG,
                f'train_dataloader.dataset.data_root={root}')
    assert 'FileNotFoundError' in msg
    assert f'"{root}/annotations/image_info_pretrain.json" does not ' \
        'exist' in msg
    assert 'COCO-format JSON' in msg and 'data_root' in msg


def test_empty_folder(tmp_path):
    """An empty image folder (no annotation file: read the folder)."""
    root = tmp_path / 'empty'
    root.mkdir()
    msg = _fail(tmp_path, TINY_CFG,
                f'train_dataloader.dataset.data_root={root}',
                'train_dataloader.dataset.ann_file=')
    assert 'CocoUnlabeledDataset: no images found' in msg
    assert str(root) in msg


def test_unknown_type(tmp_path):
    msg = _fail(tmp_path, TINY_CFG, 'model.neck.type=SpatialBYOLNek')
    assert 'SpatialBYOLNek is not in the mmselfemd::model registry' in msg


def test_missing_key(tmp_path):
    """A config whose ``model`` is misspelt ``modle``."""
    from mmengine.config import Config
    text = Config.fromfile(TINY_CFG).pretty_text
    assert text.count('\nmodel = dict(') == 1
    path = tmp_path / 'typo.py'
    path.write_text(text.replace('\nmodel = dict(', '\nmodle = dict('))
    msg = _fail(tmp_path, str(path))
    assert "the config has no key 'model', which is required" in msg
    assert 'from_cfg in runner.py' in msg


def test_debug_shows_traceback(tmp_path):
    err = _fail(tmp_path, TINY_CFG, 'model.neck.type=SpatialBYOLNek',
                debug=True)
    assert 'KeyError' in err


def test_transfer_config_with_other_architecture(tmp_path, r18_checkpoint):
    """A ResNet-18 checkpoint given to the ResNet-50 transfer config."""
    msg = _fail(tmp_path, FASTER_1X,
                f'model.backbone.init_cfg.checkpoint={r18_checkpoint}')
    assert 'PretrainedBackboneError' in msg and r18_checkpoint in msg
    assert 'It holds a ResNet-18' in msg and 'ResNet-50' in msg
