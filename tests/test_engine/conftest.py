# Copyright (c) mmselfemd contributors. All rights reserved.
"""Fixtures of the engine tests: demo scenes, the tiny config, train runs.

Training runs are ``tools/train.py`` subprocesses with one thread each (the
machine's cores are shared) and ``tests/test_engine`` on ``PYTHONPATH``
for the test-only hooks of ``selfemd_test_hooks.py``.
"""
import json
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
import time
from typing import Dict, List, Optional

import pytest

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
TRAIN = osp.join(REPO, 'tools', 'train.py')
TINY_CFG = osp.join(HERE, 'configs', 'selfemd_resnet18_tiny.py')
# in-process Config.fromfile of the test configs imports the test hooks
if HERE not in sys.path:
    sys.path.insert(0, HERE)


def train_env(**extra: str) -> dict:
    """Environment of a training subprocess: 1 thread, test hooks."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [REPO, HERE, env.get('PYTHONPATH', '')])
    env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    for key in ('SELFEMD_TEST_PAUSE_AT', 'SELFEMD_TEST_FORGET_DATA_STATE',
                'MMSELFEMD_PRETRAINED'):
        env.pop(key, None)
    env.update(extra)
    return env


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def train_cmd(config: str, work_dir: str, data_root: str, *extra: str,
              cfg_options: Optional[List[str]] = None) -> List[str]:
    """``python tools/train.py CONFIG --work-dir DIR ...`` arguments."""
    options = [f'train_dataloader.dataset.data_root={data_root}'
               ] + list(cfg_options or [])
    return [
        sys.executable, TRAIN, config, '--work-dir', work_dir, *extra,
        '--cfg-options', *options
    ]


def run_train(cmd: List[str], env: Optional[dict] = None,
              timeout: int = 240) -> subprocess.CompletedProcess:
    """Run a training command; fail the test with its log if it fails."""
    proc = subprocess.run(
        cmd,
        env=env or train_env(),
        capture_output=True,
        text=True,
        timeout=timeout)
    assert proc.returncode == 0, (proc.stdout[-4000:] + proc.stderr[-4000:])
    return proc


def kill_paused_run(config: str, work_dir: str, data_root: str,
                    iteration: int,
                    cfg_options: Optional[List[str]] = None) -> None:
    """Train until ``iteration`` (``PauseAtIterHook`` pauses the run after
    it, its checkpoint written), then ``SIGKILL`` it; returns once its
    dataloader workers are gone too."""
    proc = subprocess.Popen(
        train_cmd(config, work_dir, data_root, cfg_options=cfg_options),
        env=train_env(SELFEMD_TEST_PAUSE_AT=str(iteration)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True)
    marker = osp.join(work_dir, 'paused_at_iter')
    deadline = time.time() + 180
    while not osp.exists(marker):
        assert proc.poll() is None, f'training exited with {proc.returncode}'
        assert time.time() < deadline, f'training did not reach {iteration}'
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    for _ in range(50):  # the dataloader workers die with it
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)


def read_losses(work_dir: str, rank: int = 0) -> Dict[int, dict]:
    """Losses written by ``LossRecorderHook``: iteration -> {name: repr}.

    A later line for the same iteration (a resumed run repeating an
    iteration that was lost with the killed process) replaces the earlier.
    """
    out = {}
    with open(osp.join(work_dir, f'losses_rank{rank}.jsonl')) as f:
        for line in f:
            rec = json.loads(line)
            out[rec['iter']] = rec['losses']
    return out


@pytest.fixture(scope='session')
def scenes_root(tmp_path_factory) -> str:
    """16 generated 64 px demo scenes (12 train + 4 unlabeled)."""
    from projects.demo.demo_scenes import make_demo_scenes
    root = str(tmp_path_factory.mktemp('scenes'))
    make_demo_scenes(
        root, num_train=12, num_val=0, num_unlabeled=4, size=64, seed=0)
    return root
