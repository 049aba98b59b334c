# Copyright (c) mmselfemd contributors. All rights reserved.
"""The GPU check's ``dist`` section: torchrun, save, resume, compare."""
import math
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict

from projects.benchmarks import median_or_none, project_path

from .check_context import CheckContext
from .deadline import Deadline

TRAIN = project_path('tools', 'train.py')
DEMO_CFG = project_path('configs', 'selfemd',
                        'selfemd_resnet18_1xb32-coslr-100it_demo.py')


def _dist_config(ctx: CheckContext, path: str, images: str) -> dict:
    """Write the config of the distributed smoke test.

    The demo's pretraining config (ResNet-18, two 128 px views,
    LARS + cosine) with SyncBN on CUDA (BN on CPU), the check's images,
    a shorter run that saves half-way, and every iteration's raw losses
    logged (``vis_data/scalars.json``).
    """
    size = ctx.size['dist']
    sync = ctx.cuda
    norm = "dict(type='SyncBN')" if sync else "dict(type='BN')"
    norm1d = "dict(type='SyncBN')" if sync else "dict(type='BN1d')"
    text = f"""# written by the dist section of the GPU check (section_dist.py)
_base_ = [{DEMO_CFG!r}]
model = dict(
    backbone=dict(norm_cfg={norm}),
    neck=dict(norm_cfg={norm}),
    head=dict(predictor=dict(norm_cfg={norm})),
    global_neck=dict(norm_cfg={norm1d}),
    global_head=dict(predictor=dict(norm_cfg={norm1d})))
train_dataloader = dict(
    batch_size={size['batch']},
    num_workers={size['workers']},
    dataset=dict(data_root='', ann_file='', data_prefix=dict(img={images!r})))
train_cfg = dict(max_iters={size['iters']})
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval={size['iters'] // 2}, max_keep_ckpts=-1))
log_processor = dict(window_size=1, custom_cfg=[])
env_cfg = dict(dist_cfg=dict(backend={'nccl' if sync else 'gloo'!r}))
randomness = dict(seed=0, deterministic={not sync})
"""
    with open(path, 'w') as f:
        f.write(text)
    return dict(norm='SyncBN' if sync else 'BN (SyncBN needs CUDA)',
                backend='nccl' if ctx.cuda else 'gloo')


def _read_scalars(work_dir: str) -> Dict[int, dict]:
    """Per-iteration scalars (loss, time, ...) of a training run, from
    mmengine's ``{timestamp}/vis_data/scalars.json`` (the newest run in
    ``work_dir``); empty if there is none."""
    from mmselfemd.utils.scalars import load_scalars
    try:
        records = load_scalars(work_dir)
    except FileNotFoundError:
        return {}
    return {int(rec['step']): rec for rec in records if 'loss' in rec}


def _train(ctx: CheckContext, name: str, cfg_path: str, work: str,
           extra: list, env: dict, timeout: float) -> dict:
    """One ``torchrun --standalone`` run of ``tools/train.py``."""
    cmd = [
        sys.executable, '-m', 'torch.distributed.run', '--standalone',
        '--nproc_per_node=1', TRAIN, cfg_path, '--launcher', 'pytorch',
        '--work-dir', work, '--amp'
    ] + extra
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        tail = (exc.stdout or b'')[-2000:]
        raise RuntimeError(
            f'{name} run did not finish within {timeout:.0f} s: '
            f'{" ".join(cmd)}; output tail: {tail!r}')
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise RuntimeError(
            f'{name} run failed (exit {proc.returncode}): '
            f'{" ".join(cmd)}; output tail: '
            f'{(proc.stdout + proc.stderr)[-3000:]}')
    scalars = _read_scalars(work)
    log_text = proc.stdout + proc.stderr
    ctx.log(f'  dist {name}: {wall:.1f} s, iterations '
            f'{min(scalars, default=0)}-{max(scalars, default=0)}')
    return dict(
        wall_s=wall, iters_logged=sorted(scalars),
        losses={it: rec['loss'] for it, rec in scalars.items()},
        iter_time_s=median_or_none([
            rec['time'] for it, rec in scalars.items()
            if 'time' in rec and it > 2
        ]),
        distributed='Distributed training: True' in log_text,
        checkpoints=sorted(
            f for f in os.listdir(work) if f.endswith('.pth')))


def section_dist(ctx: CheckContext, deadline: Deadline) -> dict:
    """torchrun, 1 process, tools/train.py: train, save, resume, compare.

    ``torchrun --standalone --nproc_per_node 1`` (nccl on CUDA, gloo on
    CPU) of ``tools/train.py --amp`` on the demo's pretraining config with
    SyncBN (BN on CPU), saving half-way and at the end; a second run
    resumes from the half-way checkpoint, and its losses are compared with
    the first run's (equal bit for bit on CPU, relative tolerance 1e-3 on
    CUDA).

    Args:
        ctx (CheckContext): The check's context.
        deadline (Deadline): Soft deadline of both runs.

    Returns:
        dict: The section's result.

    Raises:
        RuntimeError: If a run fails, a loss is missing or not finite, the
            resumed losses differ, or no process group was started.
    """
    size = ctx.size['dist']
    images = ctx.images_dir()
    cfg_path = osp.join(ctx.scratch, 'dist_smoke.py')
    out = _dist_config(ctx, cfg_path, images)
    out.update(iters=size['iters'], batch=size['batch'],
               config='selfemd_resnet18_1xb32-coslr-100it_demo.py',
               amp='fp16 AMP (AmpOptimWrapper)' if ctx.cuda else
               'bf16 AMP (CPUAmpOptimWrapper)',
               launcher='torchrun --nproc_per_node 1 (pytorch launcher)')
    env = dict(os.environ)
    root = project_path()
    paths = [root] if osp.isdir(osp.join(root, 'mmselfemd')) else []
    env['PYTHONPATH'] = os.pathsep.join(
        paths + [p for p in env.get('PYTHONPATH', '').split(os.pathsep)
                 if p])
    env.setdefault('OMP_NUM_THREADS', '2')
    env.setdefault('NCCL_DEBUG', 'WARN')
    half = size['iters'] // 2
    runs = {}
    for name, extra in (('full', []), ('resumed', [
            '--resume',
            osp.join(ctx.scratch, 'dist_full', f'iter_{half}.pth')])):
        timeout = max(deadline.left() - (30 if name == 'full' else 0), 10)
        runs[name] = _train(ctx, name, cfg_path,
                            osp.join(ctx.scratch, f'dist_{name}'), extra,
                            env, timeout)
    full, resumed = runs['full']['losses'], runs['resumed']['losses']
    compare = list(range(half + 1, size['iters'] + 1))
    missing = [it for it in compare if it not in full or it not in resumed]
    if missing:
        raise RuntimeError(f'losses of iterations {missing} are missing '
                           '(mmengine scalars.json)')
    diffs = [abs(full[it] - resumed[it]) for it in compare]
    rel = [d / max(abs(full[it]), 1e-12) for d, it in zip(diffs, compare)]
    all_losses = list(full.values()) + list(resumed.values())
    tol = 1e-3 if ctx.cuda else 0.0
    out.update(
        runs=runs, compared_iters=compare,
        max_abs_diff=max(diffs), max_rel_diff=max(rel),
        rel_tolerance=tol,
        resume_losses_equal=all(d == 0 for d in diffs),
        resume_losses_match=max(rel) <= tol,
        losses_finite=all(math.isfinite(v) for v in all_losses),
        note='with one process, torch.nn.SyncBatchNorm normalises like BN '
        '(no collective); DDP all-reduces the gradients over the '
        'process group' if ctx.cuda else 'CPU: deterministic algorithms, '
        'so the resumed losses must be equal bit for bit')
    if not out['losses_finite']:
        raise RuntimeError('non-finite losses in the distributed runs')
    if not out['resume_losses_match']:
        raise RuntimeError(
            f'resumed losses differ from the uninterrupted run: max '
            f'relative difference {max(rel):.3g} > {tol:g} over iterations '
            f'{compare[0]}-{compare[-1]}')
    if not (runs['full']['distributed'] and runs['resumed']['distributed']):
        raise RuntimeError('the runs did not report "Distributed training: '
                           'True": the launcher did not start a process '
                           'group')
    return out
