# Copyright (c) mmselfemd contributors. All rights reserved.
"""The installed package is what users run, in rooms of one concept, with
layers that only point down (mmpretrain's and mmdet's house rules)."""
import ast
import os
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PACKAGE = osp.join(REPO, 'mmselfemd')
MAX_LINES = 400
# What a subpackage may not import: apis/ is the top (user-facing) layer,
# and nothing in the package reaches into the repository around it.
OUTSIDE = ('tools', 'configs', 'projects', 'tests')


def _modules():
    for root, dirs, files in os.walk(PACKAGE):
        dirs[:] = [d for d in dirs if d not in ('.mim', '__pycache__')]
        for name in files:
            if name.endswith('.py'):
                path = osp.join(root, name)
                yield osp.relpath(path, PACKAGE), path


def _imported(path: str):
    """Absolute module names a file imports (relative ones resolved)."""
    rel = osp.relpath(path, REPO)[:-3].split(os.sep)
    if rel[-1] == '__init__':
        rel = rel[:-1]
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = rel[:len(rel) - node.level + (
                    1 if path.endswith('__init__.py') else 0)]
                yield '.'.join(base + ([node.module] if node.module else []))
            else:
                yield node.module


def test_walk_finds_the_package():
    names = dict(_modules())
    assert 'models/algorithms/selfemd.py' in names
    assert 'engine/hooks/pretrained_backbone_check_hook.py' in names


@pytest.mark.parametrize('rel,path', sorted(_modules()))
def test_module_is_small(rel, path):
    with open(path, encoding='utf-8') as f:
        lines = sum(1 for _ in f)
    assert lines <= MAX_LINES, f'mmselfemd/{rel}: {lines} lines'


def test_no_research_in_the_package():
    for gone in ('benchmarks', 'studies'):
        assert not osp.exists(osp.join(PACKAGE, gone)), gone
    for rel, _ in _modules():
        assert not any(w in rel for w in ('demo_scenes', 'demo_voc',
                                          'study_stats', 'gpu_check')), rel


def test_layers_point_down():
    """Only apis/ may import apis/; nothing imports tools, configs,
    projects or tests."""
    wrong = []
    for rel, path in _modules():
        for name in _imported(path):
            top = (name or '').split('.')[0]
            if top in OUTSIDE:
                wrong.append(f'mmselfemd/{rel} imports {name}')
            if name and name.startswith('mmselfemd.apis') and \
                    not rel.startswith('apis' + os.sep):
                wrong.append(f'mmselfemd/{rel} imports {name}')
    assert not wrong, wrong


def test_the_layer_check_can_fail(tmp_path):
    """The import reader resolves a relative import to its package."""
    sub = tmp_path / 'mmselfemd' / 'engine'
    sub.mkdir(parents=True)
    (sub / 'hook.py').write_text('from ..apis import hub\nimport projects\n')
    global REPO
    old, REPO = REPO, str(tmp_path)
    try:
        got = list(_imported(str(sub / 'hook.py')))
    finally:
        REPO = old
    assert got == ['mmselfemd.apis', 'projects']
