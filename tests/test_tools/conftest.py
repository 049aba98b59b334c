# Copyright (c) mmselfemd contributors. All rights reserved.
"""Shared fixtures for the tools/ tests: tool modules, images, a run.

The fabricated checkpoints (``r18_checkpoint``, ``r50_checkpoint``,
``no_backbone_checkpoint``) are fixtures of the root conftest.py.
"""
import importlib.util
import os
import os.path as osp
import subprocess
import sys
from types import ModuleType

import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools')
# the tiny BYOL of tools/train.py's tests (child of the BYOL baseline)
BYOL_TINY_CFG = osp.join(REPO, 'tests', 'test_tools', 'configs',
                         'byol_resnet18_tiny.py')


def load_tool(relpath: str) -> ModuleType:
    """Import a script under tools/ as a module (its folder on sys.path)."""
    path = osp.join(TOOLS, relpath)
    folder = osp.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = 'tool_' + relpath.replace('/', '_').replace('.py', '')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(relpath: str, *args: str,
             timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``tools/RELPATH`` with ``args`` in a subprocess (output to pipes,
    as in a log), with :func:`tool_env`; text output captured."""
    return subprocess.run([sys.executable, osp.join(TOOLS, relpath), *args],
                          env=tool_env(),
                          capture_output=True,
                          text=True,
                          timeout=timeout)


def tool_env() -> dict:
    """Environment for tool subprocesses: the repo importable, 1 thread.

    One thread per process: on the 2 shared cores, torch's default thread
    pool spins against other processes and runs ~40x slower.
    """
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    env['OMP_NUM_THREADS'] = '1'
    env['MKL_NUM_THREADS'] = '1'
    env.pop('MMSELFEMD_PRETRAINED', None)
    return env


@pytest.fixture(scope='session')
def image_dir(tmp_path_factory) -> str:
    """Eight 48x48 RGB images (crops of a scikit-image photograph)."""
    from PIL import Image
    folder = tmp_path_factory.mktemp('images')
    try:
        from skimage import data
        photo = data.astronaut()
    except Exception:  # scikit-image is a test requirement; be lenient
        photo = np.random.default_rng(0).integers(
            0, 255, (512, 512, 3), dtype=np.uint8)
    for i in range(8):
        y, x = 48 * (i // 4) + 100, 48 * (i % 4) + 100
        Image.fromarray(photo[y:y + 48, x:x + 48]).save(
            str(folder / f'{i}.png'))
    return str(folder)


# --- a real training run of the tiny Self-EMD config (issue 12 tools) ---

# tests/ is on sys.path (pytest's rootdir insertion): reuse the engine
# tests' training helpers and their demo-scene fixture
from test_engine.conftest import (  # noqa: E402,F401 (fixture)
    TINY_CFG,
    free_port,
    run_train,
    scenes_root,
    train_cmd,
)

VIS_DOC = osp.join(REPO, 'docs', 'en', 'user_guides', 'visualization.md')


def tensorboard_snippet() -> str:
    """The TensorBoard config snippet of the visualisation guide, without
    its ``_base_`` line (the python block after the snippet marker)."""
    text = open(VIS_DOC).read()
    block = text.split('<!-- tensorboard-snippet')[1].split('```python\n')[
        1].split('```')[0]
    return '\n'.join(ln for ln in block.splitlines()
                     if not ln.startswith('_base_'))


@pytest.fixture(scope='session')
def tiny_selfemd_run(tmp_path_factory, scenes_root) -> dict:  # noqa: F811
    """``tools/train.py`` on the engine tests' tiny Self-EMD config: 4
    iterations on generated 64 px scenes, checkpoints at 2 and 4, logged
    every iteration; with the TensorBoard backend of
    docs/en/user_guides/visualization.md when tensorboard is installed.

    Returns:
        dict: ``work_dir``, ``checkpoint`` (iteration 4), ``config`` (the
        test config), ``scalars`` (path) and ``tensorboard`` (bool).
    """
    try:
        import tensorboard  # noqa: F401
        with_tb = True
    except ImportError:
        with_tb = False
    root = tmp_path_factory.mktemp('tiny_run')
    config = str(root / 'selfemd_resnet18_tiny_run.py')
    with open(config, 'w') as f:
        f.write(f'_base_ = {TINY_CFG!r}\ntrain_cfg = dict(max_iters=4)\n' +
                (tensorboard_snippet() if with_tb else ''))
    work_dir = str(root / 'work')
    run_train(train_cmd(config, work_dir, scenes_root))
    (run, ) = [d for d in os.listdir(work_dir)
               if osp.isdir(osp.join(work_dir, d))]
    return dict(
        work_dir=work_dir,
        checkpoint=osp.join(work_dir, 'iter_4.pth'),
        config=config,
        scalars=osp.join(work_dir, run, 'vis_data', 'scalars.json'),
        tensorboard=with_tb)


# --- a PASCAL VOC tree of generated scenes (issue 17) ---


@pytest.fixture(scope='session')
def voc_root(tmp_path_factory) -> str:
    """A VOCdevkit of generated 128 px scenes (projects.demo.demo_voc):
    VOC2007 trainval 4 and test 3 images, VOC2012 trainval 3. Returns the
    folder that holds ``VOCdevkit/``; tests that change the tree copy it
    first."""
    from projects.demo.demo_voc import make_demo_voc
    root = str(tmp_path_factory.mktemp('voc'))
    make_demo_voc(root)
    return root
