# Copyright (c) mmselfemd contributors. All rights reserved.
"""The installed package exposes configs/ and tools/ as .mim/, like mmdet,
and the built wheel carries the LICENSE and no research code."""
import os.path as osp
import shutil
import subprocess
import sys
import zipfile

import pytest

import mmselfemd

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_mim_folder_exposes_configs_and_tools():
    mim = osp.join(osp.dirname(mmselfemd.__file__), '.mim')
    assert osp.isfile(
        osp.join(mim, 'configs', 'selfemd',
                 'selfemd_resnet50_8xb32-coslr-800e_coco.py'))
    assert osp.isfile(osp.join(mim, 'tools', 'train.py'))
    assert osp.isfile(osp.join(mim, 'model-index.yml'))


@pytest.mark.slow
def test_wheel_ships_the_license(tmp_path):
    """The Apache-2.0 LICENSE is in the built wheel's dist-info, and the
    wheel holds the package, configs and tools but no studies, benchmarks,
    GPU check, demo-data generators or tests (they live in projects/).

    Built from a copy: building in the repository would replace the
    editable install's ``.mim`` links by copies.
    """
    src = tmp_path / 'src'
    src.mkdir()
    for name in ('setup.py', 'pyproject.toml', 'README.md', 'LICENSE',
                 'requirements.txt', 'model-index.yml'):
        shutil.copy(osp.join(REPO, name), src / name)
    for name in ('requirements', 'mmselfemd', 'configs', 'tools',
                 'projects', 'tests'):
        shutil.copytree(
            osp.join(REPO, name),
            src / name,
            symlinks=True,
            ignore=shutil.ignore_patterns('.mim', '__pycache__'))
    proc = subprocess.run([
        sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
        '--no-build-isolation', '-w',
        str(tmp_path / 'dist'),
        str(src)
    ],
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    wheel, = (tmp_path / 'dist').glob('mmselfemd-*.whl')
    with open(osp.join(REPO, 'LICENSE'), encoding='utf-8') as f:
        license_text = f.read()
    assert 'Apache License\n                           Version 2.0' in \
        license_text
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        licenses = [n for n in names if n.endswith('.dist-info/licenses/'
                                                   'LICENSE')]
        assert licenses, names
        assert zf.read(licenses[0]).decode('utf-8') == license_text
        metadata = next(n for n in names if n.endswith('/METADATA'))
        assert 'License-File: LICENSE' in zf.read(metadata).decode()
        # and mim's folders are copied in
        assert 'mmselfemd/.mim/model-index.yml' in names
        assert 'mmselfemd/.mim/tools/train.py' in names
        assert 'mmselfemd/models/algorithms/selfemd.py' in names
    research = [
        n for n in names
        if n.startswith(('projects/', 'tests/', 'mmselfemd/benchmarks/',
                         'mmselfemd/studies/', 'mmselfemd/.mim/projects/'))
        or any(word in n for word in ('demo_scenes', 'demo_voc',
                                      'study_stats', 'gpu_check'))
    ]
    assert not research, research
