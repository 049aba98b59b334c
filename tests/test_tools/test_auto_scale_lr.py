# Copyright (c) mmselfemd contributors. All rights reserved.
"""tools/train.py --auto-scale-lr with gradient accumulation.

mmengine scales the lr by processes x batch / base_batch_size; with
``optim_wrapper.accumulative_counts = k`` an optimizer step sees k times
more samples, and the lr must scale with that effective batch.
"""
import os.path as osp
import re

import pytest
from mmengine.config import Config

from .conftest import BYOL_TINY_CFG, run_tool


def _train_lrs(tmp_path, image_dir, *options: str):
    """Train the tiny BYOL (batch 2, base lr 0.01, base_batch_size 4) for
    2 iterations; return the logged lr values and the log."""
    work_dir = str(tmp_path / 'work')
    proc = run_tool('train.py', BYOL_TINY_CFG, '--work-dir', work_dir,
                    '--auto-scale-lr', '--cfg-options',
                    f'train_dataloader.dataset.data_root={image_dir}',
                    *options)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    lrs = [float(v) for v in re.findall(r'\] +lr: ([0-9.e+-]+)', log)]
    assert len(lrs) == 2, log[-4000:]
    return lrs, log, work_dir


@pytest.mark.slow  # a tools/train.py run each
@pytest.mark.parametrize('counts, expected_lr', [(1, 0.005), (2, 0.01),
                                                 (4, 0.02)])
def test_lr_scales_with_effective_batch(tmp_path, image_dir, counts,
                                        expected_lr):
    """1 process x batch 2 x k vs base 4: lr = 0.01 x 2k / 4."""
    lrs, log, work_dir = _train_lrs(
        tmp_path, image_dir, f'optim_wrapper.accumulative_counts={counts}')
    assert lrs == [pytest.approx(expected_lr)] * 2
    if counts > 1:
        assert (f'effective batch 1 x 2 x {counts} (accumulative_counts) = '
                f'{2 * counts}, base_batch_size 4') in log
    # the config saved in the work dir keeps the user's base batch size
    dumped = Config.fromfile(osp.join(work_dir, 'byol_resnet18_tiny.py'))
    assert dumped.auto_scale_lr.base_batch_size == 4
    assert dumped.optim_wrapper.accumulative_counts == counts
