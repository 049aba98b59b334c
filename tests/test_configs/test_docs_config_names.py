# Copyright (c) mmselfemd contributors. All rights reserved.
"""Every config name the docs mention exists.

A config name is anything shaped like OpenMMLab's
``{...}_{gpus}xb{batch}-{...}_{data}`` (with or without ``.py``, also inside
URLs and checkpoint names). It must be one of our configs, or one of the
installed mmpretrain's/mmdet's (the docs cite their baselines); a name
written as a ``configs/...`` or ``projects/<name>/configs/...`` path must
exist at that path. The docs are README.md, docs/, the config folders'
READMEs and metafiles, and projects/ (its pages and records).
"""
import glob
import os.path as osp
import re

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

NAME = re.compile(
    r'(?<![\w-])((?:(?:projects/\w+/)?configs/[\w/-]+/)?'
    r'[a-z][a-z0-9-]*(?:_[a-z0-9-]+)+_\d+xb\d+-[a-z0-9-]+_[a-z0-9-]+)')


def _doc_files() -> list:
    files = [osp.join(REPO, 'README.md')]
    for pattern in ('docs/**/*.md', 'configs/**/*.md', 'configs/**/*.yml',
                    'projects/**/*.md'):
        files += glob.glob(osp.join(REPO, pattern), recursive=True)
    return sorted(files)


def _config_stems(root: str) -> set:
    return {
        osp.splitext(osp.basename(p))[0]
        for p in glob.glob(osp.join(root, '**', '*.py'), recursive=True)
    }


@pytest.fixture(scope='module')
def known_names() -> dict:
    import mmdet
    import mmpretrain
    names = {
        'mmselfemd': _config_stems(osp.join(REPO, 'configs')),
        'projects': {
            stem
            for root in glob.glob(osp.join(REPO, 'projects', '*', 'configs'))
            for stem in _config_stems(root)
        },
    }
    for pkg in (mmpretrain, mmdet):
        root = osp.join(osp.dirname(pkg.__file__), '.mim', 'configs')
        names[pkg.__name__] = _config_stems(root)
        assert names[pkg.__name__], f'no configs under {root}'
    return names


def test_pattern_finds_names():
    text = ('see `configs/selfemd/selfemd_resnet50_8xb32-coslr-800e_coco.py`'
            ' and https://h/byol_resnet50_16xb256-coslr-200e_in1k_20220825-'
            'de817331.pth, not {algorithm}_{backbone}_{gpus}xb{batch}; '
            'projects/x/configs/a/b_c_1xb2-d_e.py, '
            'work_dirs/selfemd_resnet50_8xb32-coslr-800e_coco/epoch_800.pth')
    assert NAME.findall(text) == [
        'configs/selfemd/selfemd_resnet50_8xb32-coslr-800e_coco',
        'byol_resnet50_16xb256-coslr-200e_in1k',
        'projects/x/configs/a/b_c_1xb2-d_e',
        'selfemd_resnet50_8xb32-coslr-800e_coco',
    ]


def test_docs_name_existing_configs(known_names):
    every = set().union(*known_names.values())
    missing, seen = [], 0
    for path in _doc_files():
        with open(path, encoding='utf-8') as f:
            for lineno, line in enumerate(f, 1):
                for name in NAME.findall(line):
                    seen += 1
                    where = f'{osp.relpath(path, REPO)}:{lineno}: {name}'
                    if name.startswith(('configs/', 'projects/')):
                        if not osp.isfile(osp.join(REPO, name + '.py')):
                            missing.append(where)
                    elif name not in every:
                        missing.append(where)
    assert seen > 20  # the pattern still finds the names
    assert not missing, 'config names in the docs that no config has:\n' + \
        '\n'.join(missing)
