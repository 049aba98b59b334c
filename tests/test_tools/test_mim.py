# Copyright (c) mmselfemd contributors. All rights reserved.
"""openmim after the README set-up (tools/setup_env.sh).

mim finds a package's configs, tools and model-index.yml in
``<dist location>/mmselfemd/.mim``; an editable install keeps its
dist-info in site-packages, where the set-up links the source package.
These run the ``mim`` installed beside this interpreter, as a user would.
"""
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from .conftest import REPO, tool_env

MIM = osp.join(osp.dirname(sys.executable), 'mim')
DEMO_CFG = 'selfemd_resnet18_1xb32-coslr-100it_demo.py'


@pytest.fixture(scope='module')
def mim() -> str:
    assert osp.isfile(MIM), (
        f'{MIM} not found: openmim is installed by tools/setup_env.sh '
        '(requirements/openmim.txt); run it again')
    return MIM


@pytest.fixture(scope='module')
def photos(tmp_path_factory) -> str:
    """Four 160x160 crops of a scikit-image photograph (the demo config's
    128 px views need images at least that large)."""
    from PIL import Image
    from skimage import data
    folder = tmp_path_factory.mktemp('photos')
    photo = data.astronaut()
    for i in range(4):
        y, x = 160 * (i // 2) + 40, 160 * (i % 2) + 40
        Image.fromarray(photo[y:y + 160, x:x + 160]).save(
            str(folder / f'{i}.png'))
    return str(folder)


def _mim(mim: str, *args: str, cwd, timeout: int = 300):
    # from another folder: mim must find everything in the installed package
    proc = subprocess.run([mim, *args],
                          cwd=str(cwd),
                          env=tool_env(),
                          capture_output=True,
                          text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.mark.slow  # a training through mim
def test_mim_train_finds_config_by_name(mim, tmp_path, photos):
    """The demo config by name, shrunk to 1 iteration on 4 photos."""
    work_dir = tmp_path / 'work'
    out = _mim(
        mim, 'train', 'mmselfemd', DEMO_CFG, '--work-dir', str(work_dir),
        '--cfg-options', f'train_dataloader.dataset.data_root={photos}',
        'train_dataloader.dataset.ann_file=',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_cfg.max_iters=1', 'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.interval=1', cwd=tmp_path)
    assert 'Iter(train) [1/1]' in out
    assert osp.isfile(work_dir / 'iter_1.pth')
    # the config that ran is the repository's, found through .mim/configs
    assert osp.isfile(work_dir / DEMO_CFG)


def test_mim_search_lists_the_metafile_models(mim, tmp_path):
    out = _mim(mim, 'search', 'mmselfemd', cwd=tmp_path, timeout=120)
    for name in ('selfemd_resnet50_8xb32-coslr-800e_coco',
                 'byol_resnet50_8xb32-coslr-800e_coco'):
        assert f'config id: {name}\n' in out


def test_mim_search_architecture_is_the_configs_model():
    """What ``mim search`` shows for each metafile model (its collection's
    metadata unless the model has its own) names its config's algorithm,
    backbone, neck and head; the BYOL baseline once showed Self-EMD's."""
    from mim.commands.search import convert2df
    from modelindex.load_model_index import load
    table = convert2df(load(osp.join(REPO, 'model-index.yml')))
    assert 'byol_resnet50_8xb32-coslr-800e_coco' in table.index
    for name, row in table.iterrows():
        model = Config.fromfile(osp.join(REPO, row['config'])).model
        types = (model.backbone.type, model.neck.type, model.head.type)
        assert row['model'] == model.type.lower(), name
        assert row['architecture'] == ','.join(types).lower(), name


def test_mim_run_check_coco_folder(mim, tmp_path, photos):
    out = _mim(
        mim, 'run', 'mmselfemd', 'check_coco_folder', photos, '--folder',
        '--print-config', cwd=tmp_path, timeout=120)
    assert 'total: 4 distinct images' in out
    assert "type='CocoUnlabeledDataset'" in out
