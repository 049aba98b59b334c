# Copyright (c) mmselfemd contributors. All rights reserved.
"""A training checkpoint of tools/train.py loads where mmselfemd cannot be
imported, weights-only, and still resumes with its logged history.

The tiny Self-EMD config trains 4 iterations (checkpoints at 2 and 4).
A separate interpreter (``python -I``, mmselfemd blocked in
``sys.modules`` so that neither the editable install nor a path can bring
it in) loads ``iter_4.pth`` with ``torch.load(weights_only=True)`` and with
mmengine's loader, and resumes mmengine's ``MessageHub`` from it;
mmpretrain's ``publish_model.py`` publishes it there. Then tools/train.py
resumes the run to iteration 6: the loss history of the first 4 iterations
must be in ``iter_6.pth``.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import torch

from .conftest import TINY_CFG, run_train, train_cmd, train_env

CLEAN_LOAD = r"""
import json, sys
sys.modules['mmselfemd'] = None  # `import mmselfemd` raises from here on
try:
    import mmselfemd  # noqa: F401
    raise SystemExit('mmselfemd is importable')
except ModuleNotFoundError:
    pass
import numpy as np
import torch
from mmengine.logging import MessageHub
from mmengine.runner.checkpoint import _load_checkpoint

path = sys.argv[1]
plain = torch.load(path, map_location='cpu', weights_only=True)
via_mmengine = _load_checkpoint(path, map_location='cpu')
loss = plain['message_hub']['log_scalars']['train/loss']
hub = MessageHub.get_instance('clean')
hub.load_state_dict(via_mmengine['message_hub'])  # skips the buffers
print(json.dumps(dict(
    keys=sorted(plain),
    state_dict=len(via_mmengine['state_dict']),
    iter=plain['meta']['iter'],
    loss_type=loss['type'],
    loss_history=loss['log_history'].tolist(),
    hub_iter=hub.get_info('iter'),
    saved_iter=plain['message_hub']['runtime_info']['iter'],
    mmselfemd_loaded=any(
        m == 'mmselfemd' or m.startswith('mmselfemd.')
        for m, mod in sys.modules.items() if mod is not None))))
"""


def test_checkpoint_loads_without_mmselfemd_and_resumes(
        scenes_root, tmp_path, checkpoint_globals):
    work_dir = str(tmp_path / 'work')
    run_train(
        train_cmd(TINY_CFG, work_dir, scenes_root,
                  cfg_options=['train_cfg.max_iters=4']))
    ckpt = osp.join(work_dir, 'iter_4.pth')
    names = checkpoint_globals(ckpt)
    assert names and all(n.startswith(('torch.', 'collections.'))
                         for n in names), names

    proc = subprocess.run([sys.executable, '-I', '-c', CLEAN_LOAD, ckpt],
                          cwd=str(tmp_path),
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out['keys'] == [
        'message_hub', 'meta', 'optimizer', 'param_schedulers', 'state_dict'
    ]
    assert out['state_dict'] > 100 and out['iter'] == 4
    assert out['loss_type'] == 'HistoryBuffer'
    assert len(out['loss_history']) == 4
    assert out['hub_iter'] == out['saved_iter'] is not None
    assert not out['mmselfemd_loaded']

    # mmpretrain's own publish_model.py (torch.load with torch's defaults)
    import mmpretrain
    publish = osp.join(
        osp.dirname(mmpretrain.__file__), '.mim', 'tools',
        'model_converters', 'publish_model.py')
    run_publish = ('import runpy, sys; sys.modules["mmselfemd"] = None; '
                   'sys.argv = sys.argv[1:]; '
                   'runpy.run_path(sys.argv[0], run_name="__main__")')
    proc = subprocess.run([
        sys.executable, '-I', '-c', run_publish, publish, ckpt,
        str(tmp_path / 'published.pth')
    ],
                          cwd=str(tmp_path),
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'Successfully generated the publish-ckpt' in proc.stdout

    # tools/train.py resumes it (weights-only, torch's default) to 6.
    run_train(
        train_cmd(TINY_CFG, work_dir, scenes_root, '--resume',
                  cfg_options=['train_cfg.max_iters=6']))
    final = torch.load(osp.join(work_dir, 'iter_6.pth'), weights_only=True)
    history = final['message_hub']['log_scalars']['train/loss'][
        'log_history']
    assert history.tolist()[:4] == out['loss_history']  # restored, kept
    assert len(history) == 6


def test_train_resumes_a_plain_mmengine_checkpoint(scenes_root, tmp_path,
                                                   checkpoint_globals):
    """tools/train.py --resume PATH with a checkpoint as plain mmengine
    writes it (HistoryBuffer objects, numpy scalars), e.g. one from before
    the portable hook: it loads weights-only and the history resumes."""
    from mmengine.logging import HistoryBuffer

    from mmselfemd.utils import restore_message_hub
    first = str(tmp_path / 'first')
    run_train(
        train_cmd(TINY_CFG, first, scenes_root,
                  cfg_options=['train_cfg.max_iters=2']))
    state = torch.load(osp.join(first, 'iter_2.pth'), weights_only=True)
    assert restore_message_hub(state) > 0  # real HistoryBuffers again
    state['message_hub']['runtime_info']['eta'] = np.float64(12.5)
    plain = str(tmp_path / 'plain.pth')
    torch.save(state, plain)
    names = checkpoint_globals(plain)
    assert {'mmengine.logging.history_buffer.HistoryBuffer',
            '__builtin__.getattr', 'numpy._core.multiarray.scalar'} <= names
    resumed = str(tmp_path / 'resumed')
    run_train(
        train_cmd(TINY_CFG, resumed, scenes_root, '--resume', plain,
                  cfg_options=['train_cfg.max_iters=4']))
    final = torch.load(osp.join(resumed, 'iter_4.pth'), weights_only=True)
    history = final['message_hub']['log_scalars']['train/loss']
    assert len(history['log_history']) == 4
    assert isinstance(state['message_hub']['log_scalars']['train/loss'],
                      HistoryBuffer)


class _RunsCode:
    """Pickles as a call of os.system that creates ``marker``."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_train_refuses_to_resume_a_pickle_that_runs_code(
        scenes_root, tmp_path):
    """The set-up of tools/train.py that lets the plain mmengine checkpoint
    above resume does not let a pickle that calls os.system through: the
    run fails naming the global, and the call never happens."""
    marker = tmp_path / 'ran'
    state = dict(meta=dict(iter=2), state_dict={},
                 payload=_RunsCode(str(marker)))
    evil = str(tmp_path / 'evil.pth')
    torch.save(state, evil)
    proc = subprocess.run(
        train_cmd(TINY_CFG, str(tmp_path / 'resumed'), scenes_root,
                  '--resume', evil, cfg_options=['train_cfg.max_iters=4']),
        env=train_env(), capture_output=True, text=True, timeout=240)
    assert proc.returncode != 0
    assert 'system' in proc.stderr, proc.stderr[-3000:]
    assert not marker.exists()
    assert not osp.exists(osp.join(str(tmp_path / 'resumed'), 'iter_4.pth'))
