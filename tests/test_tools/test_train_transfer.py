# Copyright (c) mmselfemd contributors. All rights reserved.
"""tools/train.py on the detection transfer configs: it refuses a run
without the pretrained checkpoint before reading any data, and trains and
evaluates the VOC C4 detector for 2 iterations on a generated VOCdevkit."""
import json
import os
import os.path as osp
import shlex
import subprocess
import sys

import pytest
from test_engine.test_hooks.detection_helpers import FASTER_1X, VOC_C4

from .conftest import REPO, TOOLS, tool_env

DOC = osp.join(REPO, 'docs', 'en', 'user_guides', 'detection_transfer.md')


def test_train_tool_refuses_without_checkpoint(tmp_path):
    """End to end: tools/train.py stops before reading any data."""
    proc = subprocess.run([
        sys.executable,
        osp.join(TOOLS, 'train.py'), FASTER_1X, '--work-dir',
        str(tmp_path / 'work')
    ],
                          env=tool_env(),
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode != 0
    assert 'PretrainedBackboneError: No pretrained backbone checkpoint ' \
        'was given' in proc.stderr, proc.stderr[-3000:]
    assert 'annotations' not in proc.stderr  # refused before the dataset


def smoke_cfg_options() -> list:
    """The --cfg-options of the CPU smoke run in the docs (the shell block
    after ``<!-- voc-cpu-smoke -->`` in detection_transfer.md)."""
    text = open(DOC).read().split('<!-- voc-cpu-smoke -->')[1]
    block = text.split('```bash\n')[1].split('```')[0]
    words = shlex.split(block.replace('\\\n', ' '), comments=True)
    return words[words.index('--cfg-options') + 1:]


@pytest.mark.slow
def test_c4_trains_and_evaluates_on_a_voc_tree(voc_root, r50_checkpoint,
                                               tmp_path):
    """tools/train.py with the pretrained C4 config and the docs' CPU
    options: the check passes, 2 iterations, then VOC07 test is evaluated
    with both metrics."""
    options = smoke_cfg_options()
    assert 'train_cfg.max_iters=2' in options
    work_dir = str(tmp_path / 'work')
    env = tool_env()
    env.update(MMSELFEMD_VOC_ROOT=osp.join(voc_root, 'VOCdevkit') + '/',
               MMSELFEMD_PRETRAINED=r50_checkpoint)
    proc = subprocess.run(
        [sys.executable, osp.join(TOOLS, 'train.py'), VOC_C4, '--work-dir',
         work_dir, '--cfg-options', *options],
        env=env, capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert 'Pretrained backbone check passed: 318 keys' in log
    assert 'Iter(train) [2/2]' in log
    assert 'do not match' not in log
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))
    (run, ) = [d for d in os.listdir(work_dir)
               if osp.isdir(osp.join(work_dir, d))]
    with open(osp.join(work_dir, run, 'vis_data', 'scalars.json')) as f:
        scalars = [json.loads(line) for line in f]
    metrics = [s for s in scalars if 'voc_11pt/mAP' in s]
    assert len(metrics) == 1  # one evaluation, after iteration 2
    for key in ('voc_11pt/mAP', 'voc_11pt/AP50', 'voc_11pt/AP75',
                'voc_area/mAP', 'voc_area/AP50'):
        assert 0.0 <= metrics[0][key] <= 1.0, key
