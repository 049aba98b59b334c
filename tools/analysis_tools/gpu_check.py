# Copyright (c) mmselfemd contributors. All rights reserved.
"""One prepared check of Self-EMD on a CUDA machine, in under 8 minutes.

Writes ``gpu_check.json`` and ``gpu_check.md`` to ``--out-dir`` (again
after every section, so a run cut short keeps what it measured). The
sections, each under its own time cap; every section runs even if an
earlier one failed, and a failure is recorded with its message:

1. ``env``: GPU, driver, CUDA, cuDNN, torch, CPUs, installed packages;
   whether mmcv's compiled ops or mmdet were imported (by default they are
   blocked, as if absent: pretraining must not need them).
2. ``emd``: the EMD solver, forward + backward, B = 256, N = 49 and 196:
   ours (the head's default, ε = 0.1 relative to the centred cost's
   spread / 30 iterations, which ``head_share`` also times inside the
   head; the previous ε = 0.05 / 30; ``emd_similarity``'s default
   ε = 0.05 / 50 iterations, and ε = 0.01 / 100 iterations: the ≤ 1 %
   setting),
   geomloss and POT's exact solver (its time includes the copies to the
   host), timed with CUDA events after a warm-up
   (``benchmark_emd.bench_nodes``).
3. ``step``: one training step of Self-EMD against mmpretrain's BYOL,
   ResNet-50, 2 × 224 px, batch 64, models and optimizer (LARS) from the
   real configs with SyncBN reverted to BN: fp32, fp16 AMP and bf16 AMP,
   each without and with channels_last. Median step time, pairs/s, the
   Self-EMD / BYOL ratio and the peak memory (two views: Self-EMD's default
   recipe); then the SPC ablation recipe (plus 4 small 96 px views) at the
   fastest AMP setting.
4. ``head_share``: the EMD head (predictor + EMD loss, forward + backward)
   and the EMD similarity alone, against the whole step.
5. ``amp``: ≥ 100 fp16 steps on real batches, then 100 on identical views
   and 100 on constant images; non-finite losses, gradients (after
   unscaling) and parameters are counted.
6. ``dist``: one-process ``torchrun`` (nccl on CUDA, gloo on CPU) of
   ``tools/train.py`` on the demo's small pretraining config (ResNet-18,
   128 px) with SyncBN and AMP, 20 iterations, saving at 10 and 20; a
   second run resumes from iteration 10, and its losses of iterations
   11-20 are compared with the first run's.
7. ``data``: the default COCO pipeline (``coco_selfemd.py``: 2 × 224 px
   views) through mmengine's dataloader with as many workers as cores, on
   COCO-size JPEGs; pairs/s and whether it feeds the measured step rate of
   the default (two-view) recipe.

``--device cpu --tiny`` runs every section at toy size in about a minute
(the CPU rehearsal of the tests). On CPU, AMP is bfloat16 (float16 with
loss scaling needs CUDA) and SyncBN becomes BN in the ``dist`` section
(torch's SyncBatchNorm refuses CPU tensors once a process group exists).

Examples::

    # on a CUDA machine, with the offline bundle (see docs/en/benchmarks.md)
    bash tools/misc/run_gpu_check.sh --out-dir work_dirs/gpu_check
    # the same, by hand
    python tools/analysis_tools/gpu_check.py --out-dir work_dirs/gpu_check
    # CPU rehearsal
    python tools/analysis_tools/gpu_check.py --device cpu --tiny \\
        --out-dir work_dirs/gpu_check_cpu
    # only some sections
    python tools/analysis_tools/gpu_check.py --sections env step
"""
import argparse
import datetime
import json
import math
import os
import os.path as osp
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Callable, Dict, List, Optional

HERE = osp.dirname(osp.abspath(__file__))
# the checkout, or mmselfemd/.mim of an installed package
REPO = osp.dirname(osp.dirname(HERE))
if osp.isdir(osp.join(REPO, 'mmselfemd')) and REPO not in sys.path:
    sys.path.insert(1, REPO)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
TRAIN = osp.join(REPO, 'tools', 'train.py')
DATA_CFG = osp.join(REPO, 'configs', '_base_', 'datasets', 'coco_selfemd.py')
DEMO_CFG = osp.join(REPO, 'configs', 'selfemd',
                    'selfemd_resnet18_1xb32-coslr-100it_demo.py')
BUNDLE_IMAGES = osp.join(REPO, '.gpu_bundle', 'images')

SECTIONS = ('env', 'emd', 'step', 'head_share', 'amp', 'dist', 'data')
# Share of the time budget planned for each section (seconds of the
# default 420 s budget; scaled to --budget).
PLAN_S = dict(env=15, emd=45, step=110, head_share=25, amp=75, dist=90,
              data=60)
# Sizes of the full check and of the CPU rehearsal (--tiny).
SETTINGS = {
    'full': dict(
        emd=dict(batch=256, nodes=[49, 196], channels=256, repeats=5),
        step=dict(depth=50, img=224, small=96, small_views=4, batch=64,
                  warmup=3, repeats=10),
        head_share=dict(repeats=20),
        amp=dict(steps=100, degenerate_steps=100, warmup_steps=10,
                 batches=4),
        dist=dict(iters=20, batch=8, workers=2),
        data=dict(batch=64, max_batches=150, seconds=25, images=64)),
    'tiny': dict(
        emd=dict(batch=16, nodes=[16, 49], channels=256, repeats=1),
        step=dict(depth=18, img=64, small=32, small_views=4, batch=4,
                  warmup=1, repeats=2),
        head_share=dict(repeats=3),
        amp=dict(steps=6, degenerate_steps=4, warmup_steps=2, batches=2),
        dist=dict(iters=10, batch=4, workers=1),
        data=dict(batch=8, max_batches=6, seconds=10, images=16)),
}
# (autocast dtype or None, channels_last) of the step section
STEP_VARIANTS = {
    'cuda': [(None, False), ('float16', False), ('float16', True),
             ('bfloat16', False), ('bfloat16', True)],
    'cpu': [(None, False), ('bfloat16', False), ('bfloat16', True)],
}
# Targets of issue 11, judged on a full run on CUDA.
TARGETS = dict(
    head_share_max=0.05,
    amp_step_ratio_max=1.05,
    pairs_per_s_min=1000,
    nonfinite_steps_max=0)
# Modules some sections use; without them those sections say so.
OPTIONAL_MODULES = dict(
    ot='the emd section needs POT for the exact EMD and fails',
    geomloss='the emd section skips its rows',
    skimage='views are cut from random pixels; the data and dist sections '
    'need the images of the bundle (--images)')
# Modules that pretraining must not need (mmcv's compiled ops, mmdet): made
# unimportable unless --allow-full-mmcv, so the check runs as with mmcv-lite.
BLOCKED = ('mmdet', 'mmcv.ops', 'mmcv._ext')


class SectionTimeout(Exception):
    """A section ran past its hard time limit."""


class Terminated(Exception):
    """The process got SIGTERM (e.g. from ``timeout``)."""


def block_modules(names=BLOCKED) -> List[str]:
    """Make ``names`` unimportable, as if they were not installed.

    ``sys.modules[name] = None`` makes ``import name`` (and of its
    submodules) raise ``ModuleNotFoundError`` and ``importlib.util.
    find_spec(name)`` return None, which is what mmcv-lite without mmdet
    gives: libraries that try them (mmcv's transformer bricks, mmpretrain's
    mmdet-only layers, mmengine's ``mmcv_full_available``) take their
    fallbacks. Names already imported are left alone.

    Args:
        names (Sequence[str]): Module names.

    Returns:
        list[str]: The names that were blocked.
    """
    blocked = []
    for name in names:
        if name not in sys.modules:
            sys.modules[name] = None
            blocked.append(name)
    return blocked


class Deadline:
    """Soft deadline of a section: loops stop when it is near."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()


class Context:
    """What the sections share: arguments, device, scratch folder,
    results of earlier sections."""

    def __init__(self, args: argparse.Namespace, scratch: str,
                 blocked: List[str]) -> None:
        self.args = args
        self.scratch = scratch
        self.blocked = blocked
        self.size = SETTINGS['tiny' if args.tiny else 'full']
        self.results: Dict[str, dict] = {}
        self._device = None

    @property
    def device(self):
        """The torch device; raises a clear error if CUDA is missing."""
        if self._device is None:
            import torch
            want = self.args.device
            if want == 'auto':
                want = 'cuda' if torch.cuda.is_available() else 'cpu'
            if want.startswith('cuda') and not torch.cuda.is_available():
                raise RuntimeError(
                    f'--device {want}: CUDA is not available to torch '
                    f'{torch.__version__} (built for CUDA '
                    f'{torch.version.cuda}); check the driver with '
                    'nvidia-smi, or rehearse with --device cpu --tiny')
            self._device = torch.device(want)
        return self._device

    @property
    def cuda(self) -> bool:
        return self.device.type == 'cuda'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Measure Self-EMD on a CUDA machine (or rehearse on '
        'CPU with --tiny); writes gpu_check.json and gpu_check.md')
    parser.add_argument('--out-dir', default='work_dirs/gpu_check',
                        help='folder of gpu_check.json / gpu_check.md')
    parser.add_argument('--device', default='auto',
                        help="'auto' (cuda if available), 'cuda' or 'cpu'")
    parser.add_argument('--tiny', action='store_true',
                        help='toy sizes (CPU rehearsal, about a minute)')
    parser.add_argument(
        '--budget', type=float, default=None,
        help='total seconds (default 420 on the full check, 300 with '
        '--tiny); each section gets its planned share, plus what earlier '
        'sections left unused')
    parser.add_argument('--sections', nargs='+', choices=SECTIONS,
                        default=list(SECTIONS), help='sections to run')
    parser.add_argument(
        '--images', default=None,
        help='folder of COCO-size JPEGs for the data section (default: '
        '.gpu_bundle/images if present, else generated)')
    parser.add_argument('--workers', type=int, default=None,
                        help='dataloader workers (default: the cores)')
    parser.add_argument('--allow-full-mmcv', action='store_true',
                        help='do not block mmdet and mmcv ops')
    parser.add_argument('--keep-scratch', action='store_true',
                        help='keep the scratch folder (work dirs, images)')
    parser.add_argument('--prepare-images', metavar='DIR',
                        help='only write the COCO-size JPEGs of the data '
                        'section to DIR (used by make_gpu_bundle.sh)')
    parser.add_argument('--num-images', type=int, default=64,
                        help='images written by --prepare-images')
    return parser.parse_args(argv)


# ---------------------------------------------------------------- helpers
def log(msg: str) -> None:
    print(f'[gpu_check {time.strftime("%H:%M:%S")}] {msg}', flush=True)


def _median(values: List[float]) -> Optional[float]:
    return statistics.median(values) if values else None


def _setup_mm(ctx: Context) -> None:
    """mmselfemd's registries and default scope; quiet mmengine logger."""
    from mmengine.logging import MMLogger
    from mmengine.registry import DefaultScope

    from mmselfemd.utils import register_all_modules
    MMLogger.get_instance('gpu_check', log_level='ERROR')
    register_all_modules(init_default_scope=False)
    if DefaultScope.get_current_instance() is None or \
            DefaultScope.get_current_instance().scope_name != 'mmselfemd':
        DefaultScope.get_instance(
            f'gpu_check-{time.time()}', scope_name='mmselfemd')


def _set_max_iters(n: int) -> None:
    """CosineEMA reads ``max_iters`` from the current MessageHub."""
    from mmengine.logging import MessageHub
    MessageHub.get_instance('gpu_check').update_info('max_iters', n)


def _to_device_batch(batch: dict, ctx: Context) -> dict:
    """Pinned host memory on CUDA (as the dataloader's pin_memory)."""
    if ctx.cuda:
        batch = dict(batch)
        batch['inputs'] = [v.pin_memory() for v in batch['inputs']]
    return batch


def _free_cuda() -> None:
    """Release what a finished section left (its locals are gone)."""
    import gc
    gc.collect()
    torch = sys.modules.get('torch')
    if torch is not None and torch.cuda.is_available() and \
            torch.cuda.is_initialized():
        torch.cuda.empty_cache()


def _peak_mb(ctx: Context) -> Optional[float]:
    import torch
    if not ctx.cuda:
        return None
    return torch.cuda.max_memory_allocated(ctx.device) / 2**20


def _reset_peak(ctx: Context) -> float:
    """Reset the peak-memory counter; returns the MiB allocated now."""
    import torch
    if not ctx.cuda:
        return 0.0
    torch.cuda.reset_peak_memory_stats(ctx.device)
    return torch.cuda.memory_allocated(ctx.device) / 2**20


def _event_time(fn: Callable[[], object], ctx: Context) -> float:
    """Seconds of one call: CUDA events on CUDA, wall clock on CPU."""
    if ctx.cuda:
        from benchmark_utils import cuda_event_seconds
        return cuda_event_seconds(fn)
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _dtype_name(dtype: Optional[str]) -> str:
    return {None: 'fp32', 'float16': 'fp16 AMP',
            'bfloat16': 'bf16 AMP'}[dtype]


# --------------------------------------------------------------- sections
def section_env(ctx: Context, deadline: Deadline) -> dict:
    """Machine, versions, packages; import of the pretraining path."""
    import importlib.metadata as md
    import importlib.util
    out = dict(
        python=sys.version.split()[0],
        executable=sys.executable,
        platform=platform.platform(),
        cpu_count=os.cpu_count(),
        cpu_affinity=len(os.sched_getaffinity(0)) if hasattr(
            os, 'sched_getaffinity') else None,
        hostname=socket.gethostname(),
        repo=REPO)
    try:
        with open('/proc/meminfo') as f:
            out['mem_total_gb'] = round(
                int(f.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    try:
        smi = subprocess.run(
            ['nvidia-smi', '--query-gpu=name,driver_version,memory.total',
             '--format=csv,noheader'],
            capture_output=True, text=True, timeout=20)
        out['nvidia_smi'] = (smi.stdout or smi.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        out['nvidia_smi'] = f'not available: {exc}'
    packages = {}
    for dist in md.distributions():
        name = dist.metadata['Name']
        if name:
            packages[name.lower()] = dist.version
    out['packages'] = dict(sorted(packages.items()))
    problems, notes = [], []
    try:
        import torch
    except ImportError as exc:
        raise RuntimeError(
            f'torch is not importable ({exc}); the machine must provide '
            'torch and torchvision (the bundle does not carry them)')
    out.update(
        torch=torch.__version__,
        torch_cuda=torch.version.cuda,
        cuda_available=torch.cuda.is_available(),
        cudnn=torch.backends.cudnn.version()
        if torch.backends.cudnn.is_available() else None,
        torch_threads=torch.get_num_threads())
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        out.update(
            gpu=torch.cuda.get_device_name(0),
            gpu_count=torch.cuda.device_count(),
            gpu_capability='.'.join(
                map(str, torch.cuda.get_device_capability(0))),
            gpu_memory_gb=round(props.total_memory / 2**30, 1),
            gpu_multiprocessors=props.multi_processor_count)
    try:
        out['device'] = str(ctx.device)
    except RuntimeError as exc:
        problems.append(str(exc))
    # the pretraining path: mmselfemd's registries, models, datasets
    for name in ('torchvision', 'numpy', 'cv2', 'mmengine', 'mmcv',
                 'mmpretrain', 'mmselfemd', 'ot', 'geomloss', 'skimage'):
        try:
            module = __import__(name)
            out.setdefault('modules', {})[name] = dict(
                version=getattr(module, '__version__', None),
                path=osp.dirname(getattr(module, '__file__', '') or ''))
        except Exception as exc:  # noqa: BLE001 (reported)
            msg = f'{name} is not importable ({type(exc).__name__}: {exc})'
            if name in OPTIONAL_MODULES:
                notes.append(f'{msg}; {OPTIONAL_MODULES[name]}')
            else:
                problems.append(
                    f'{msg}; install the offline bundle (bash '
                    'tools/misc/run_gpu_check.sh) or requirements.txt')
    try:
        import distutils  # noqa: F401
    except ImportError:
        problems.append(
            "distutils is not importable (Python >= 3.12 has none): "
            "mmengine's runner imports it (tools/train.py, dist section); "
            'install setuptools, whose shim provides it')
    try:
        _setup_mm(ctx)
    except Exception as exc:  # noqa: BLE001 (reported)
        problems.append('mmselfemd registries could not be set up '
                        f'({type(exc).__name__}: {exc})')
    spec = importlib.util.find_spec('mmcv')
    out['mmcv_has_compiled_ops'] = spec is not None and any(
        f.startswith('_ext') for f in os.listdir(osp.dirname(spec.origin)))
    out['blocked'] = ctx.blocked
    # (a blocked name sits in sys.modules as None)
    loaded = [m for m, mod in list(sys.modules.items()) if mod is not None]
    out['mmdet_imported'] = any(
        m == 'mmdet' or m.startswith('mmdet.') for m in loaded)
    out['mmcv_ops_imported'] = any(
        m == 'mmcv.ops' or m.startswith('mmcv.ops.') for m in loaded)
    out['problems'] = problems
    out['notes'] = notes
    if problems:
        raise RuntimeError('; '.join(problems))
    return out


def section_emd(ctx: Context, deadline: Deadline) -> dict:
    """EMD solvers, forward + backward, via benchmark_emd.bench_nodes."""
    import benchmark_emd
    import torch
    size = ctx.size['emd']
    notes = []
    if benchmark_emd.ot is None:
        raise RuntimeError('POT (import ot) is not installed: the exact '
                           'EMD reference and its timing need it')
    if benchmark_emd.SamplesLoss is None:
        notes.append('geomloss is not installed: its rows are skipped')
    args = argparse.Namespace(
        device=str(ctx.device), batch=size['batch'],
        channels=size['channels'], repeats=size['repeats'],
        weights='uniform', data='random', slow_subset=0,
        skip_pot_sinkhorn=True, seed=0)
    rows, skipped = [], []
    last_cost = 0.0
    for nodes in size['nodes']:
        # a larger N costs more: leave twice the last one's time
        if rows and deadline.left() < 2 * last_cost:
            skipped.append(nodes)
            continue
        t0 = time.monotonic()
        for row in benchmark_emd.bench_nodes(args, nodes):
            rows.append(dict(
                nodes=row['nodes'], method=row['method'],
                time_ms=row['time'] * 1e3, error_pct=row['error'],
                ratio_to_pot_exact=row['ratio']))
        last_cost = time.monotonic() - t0
        log(f'  emd N={nodes}: {last_cost:.1f} s')
    out = dict(
        batch=size['batch'], channels=size['channels'],
        repeats=size['repeats'], weights='uniform', data='random',
        timing='CUDA events, minimum of the repeats after one warm-up'
        if ctx.cuda else 'wall clock, minimum of the repeats',
        default_num_iters=benchmark_emd.default_num_iters(),
        torch_threads=torch.get_num_threads(), rows=rows, notes=notes)
    if skipped:
        out['_status'] = 'partial'
        out['skipped_nodes'] = skipped
    return out


def _step_fn(model, data, optim):
    return lambda: model.train_step(data, optim)


def _loss_finite(log_vars: dict) -> bool:
    import torch
    loss = log_vars['loss']
    return bool(torch.isfinite(torch.as_tensor(loss)).all())


def section_step(ctx: Context, deadline: Deadline) -> dict:
    """Self-EMD vs BYOL training step per precision / memory format."""
    import torch
    from benchmark_utils import (
        build_model,
        build_optim,
        load_model_cfgs,
        make_batch,
        schedule_optim_cfg,
        time_step,
    )
    _setup_mm(ctx)
    size = ctx.size['step']
    device = ctx.device
    if ctx.cuda:
        torch.backends.cudnn.benchmark = True
    cfgs = load_model_cfgs(depth=size['depth'])
    optim_cfg = schedule_optim_cfg()
    _set_max_iters(10**6)
    sizes = [size['img']] * 2 + [size['small']] * size['small_views']
    recipe_batch = _to_device_batch(make_batch(size['batch'], sizes, 0), ctx)
    pair_batch = dict(recipe_batch, inputs=recipe_batch['inputs'][:2])
    models = {name: build_model(cfg, device) for name, cfg in cfgs.items()}
    rows, skipped = [], []
    variants = STEP_VARIANTS['cuda' if ctx.cuda else 'cpu']
    last_cost = 0.0
    channels_last = False
    for dtype, cl in variants:
        if rows and deadline.left() < 1.5 * last_cost:
            skipped.append(f'{_dtype_name(dtype)}, channels_last={cl}')
            continue
        t0 = time.monotonic()
        if cl != channels_last:
            fmt = torch.channels_last if cl else torch.contiguous_format
            for model in models.values():
                model.to(memory_format=fmt)
            channels_last = cl
        optims = {name: build_optim(m, optim_cfg, dtype)
                  for name, m in models.items()}
        times = {name: [] for name in models}
        peaks = {name: 0.0 for name in models}
        extra = {name: 0.0 for name in models}
        nonfinite = {name: 0 for name in models}
        for _ in range(size['warmup']):
            for name, model in models.items():
                model.train_step(pair_batch, optims[name])
        for r in range(size['repeats']):
            order = list(models) if r % 2 == 0 else list(models)[::-1]
            for name in order:
                resident = _reset_peak(ctx)
                log_vars = {}

                def step(name=name, log_vars=log_vars):
                    log_vars.update(models[name].train_step(
                        pair_batch, optims[name]))

                wall, _ = time_step(step, device)
                times[name].append(wall)
                peak = _peak_mb(ctx)
                if peak is not None:
                    peaks[name] = max(peaks[name], peak)
                    extra[name] = max(extra[name], peak - resident)
                nonfinite[name] += not _loss_finite(log_vars)
        med = {name: _median(t) for name, t in times.items()}
        paired = _median(
            [a / b for a, b in zip(times['Self-EMD'], times['BYOL'])])
        rows.append(dict(
            precision=_dtype_name(dtype), dtype=dtype or 'float32',
            channels_last=cl,
            selfemd_step_s=med['Self-EMD'], byol_step_s=med['BYOL'],
            ratio=med['Self-EMD'] / med['BYOL'], paired_ratio=paired,
            selfemd_pairs_per_s=size['batch'] / med['Self-EMD'],
            byol_pairs_per_s=size['batch'] / med['BYOL'],
            # peak of the process during the step (both models resident)
            # and its part above what was allocated before the step
            selfemd_peak_mb=peaks['Self-EMD'] if ctx.cuda else None,
            byol_peak_mb=peaks['BYOL'] if ctx.cuda else None,
            selfemd_step_mb=extra['Self-EMD'] if ctx.cuda else None,
            byol_step_mb=extra['BYOL'] if ctx.cuda else None,
            nonfinite_losses=nonfinite['Self-EMD'] + nonfinite['BYOL'],
            times_s=times))
        log(f'  step {_dtype_name(dtype)} channels_last={cl}: Self-EMD '
            f"{med['Self-EMD'] * 1e3:.1f} ms, BYOL {med['BYOL'] * 1e3:.1f} "
            f"ms, ratio {med['Self-EMD'] / med['BYOL']:.3f}")
        last_cost = time.monotonic() - t0
    out = dict(
        setting=f"ResNet-{size['depth']}, 2 x {size['img']} px, batch "
        f"{size['batch']}, {device.type}",
        depth=size['depth'], img=size['img'], batch=size['batch'],
        warmup=size['warmup'], repeats=size['repeats'], rows=rows,
        timing='wall clock of a whole step (synchronised), median')
    amp_rows = [r for r in rows if r['dtype'] != 'float32']
    if amp_rows:
        best = min(amp_rows, key=lambda r: r['selfemd_step_s'])
        out['best_amp'] = dict(
            precision=best['precision'], dtype=best['dtype'],
            channels_last=best['channels_last'],
            selfemd_step_s=best['selfemd_step_s'], ratio=best['ratio'],
            selfemd_pairs_per_s=best['selfemd_pairs_per_s'])
        if deadline.left() > 2 * last_cost / max(len(models), 1):
            # the SPC ablation recipe (+ small views) at that setting
            model = models['Self-EMD']
            fmt = torch.channels_last if best['channels_last'] \
                else torch.contiguous_format
            model.to(memory_format=fmt)
            optim = build_optim(model, optim_cfg, best['dtype'])
            for _ in range(size['warmup']):
                model.train_step(recipe_batch, optim)
            times = []
            _reset_peak(ctx)
            for _ in range(size['repeats']):
                wall, _ = time_step(_step_fn(model, recipe_batch, optim),
                                    device)
                times.append(wall)
            step_s = _median(times)
            out['recipe'] = dict(
                setting=f"2 x {size['img']} px + {size['small_views']} x "
                f"{size['small']} px views, {best['precision']}, "
                f"channels_last={best['channels_last']}",
                selfemd_step_s=step_s,
                selfemd_pairs_per_s=size['batch'] / step_s,
                selfemd_peak_mb=_peak_mb(ctx), times_s=times)
        else:
            skipped.append('recipe (small views)')
    if skipped:
        out['_status'] = 'partial'
        out['skipped'] = skipped
    return out


def _best_setting(ctx: Context):
    """(dtype, channels_last) of the fastest AMP step, else a default."""
    best = ctx.results.get('step', {}).get('result', {}).get('best_amp')
    if best:
        return best['dtype'], best['channels_last']
    return ('float16', True) if ctx.cuda else ('bfloat16', False)


def section_head_share(ctx: Context, deadline: Deadline) -> dict:
    """Time of the EMD head and of the EMD alone within a step."""
    import torch
    from benchmark_utils import (
        build_model,
        build_optim,
        load_model_cfgs,
        make_batch,
        time_step,
    )
    _setup_mm(ctx)
    size = ctx.size['step']
    repeats = ctx.size['head_share']['repeats']
    device = ctx.device
    if ctx.cuda:
        torch.backends.cudnn.benchmark = True
    dtype, cl = _best_setting(ctx)
    _set_max_iters(10**6)
    model = build_model(
        load_model_cfgs(depth=size['depth'])['Self-EMD'], device)
    if cl:
        model.to(memory_format=torch.channels_last)
    optim = build_optim(model, None, dtype)
    batch = _to_device_batch(
        make_batch(size['batch'], [size['img']] * 2, 1), ctx)
    for _ in range(size['warmup']):
        model.train_step(batch, optim)
    step_times = [
        time_step(_step_fn(model, batch, optim), device)[0]
        for _ in range(repeats)
    ]
    # the head's inputs, as in SelfEMD.loss: online projections (leaves
    # that take the gradient, like the neck's outputs) and targets
    with torch.no_grad(), optim.optim_context(model):
        data = model.data_preprocessor(batch, True)
        views = data['inputs'][:2]
        online = [model.neck(model.backbone(v))[0] for v in views]
        target_net = model.target_net.module
        targets = [target_net[1](target_net[0](v))[0] for v in views]
    online = [o.detach().requires_grad_() for o in online]
    pairs = [(0, 1), (1, 0)]
    head = model.head

    def head_step():
        with optim.optim_context(model):
            loss = head.loss_pairs(online, targets, pairs,
                                   return_diagnostics=True)[0]
        (2 * loss).backward()

    with torch.no_grad(), optim.optim_context(model):
        preds = [head.predict(o) for o in online]
    preds = [p.detach().requires_grad_() for p in preds]

    def emd_step():
        with optim.optim_context(model):
            sims = [head.similarity(preds[i], targets[j]) for i, j in pairs]
        (2 - 2 * torch.cat(sims).mean()).backward()

    for fn in (head_step, emd_step):  # warm-up
        fn()
    head_times = [_event_time(head_step, ctx) for _ in range(repeats)]
    emd_times = [_event_time(emd_step, ctx) for _ in range(repeats)]
    step_s, head_s, emd_s = (_median(step_times), _median(head_times),
                             _median(emd_times))
    out = dict(
        setting=f"ResNet-{size['depth']}, 2 x {size['img']} px, batch "
        f"{size['batch']}, {_dtype_name(dtype)}, channels_last={cl}",
        head=f'{type(head).__name__}: eps={getattr(head, "eps", None)}, '
        f'num_iters={getattr(head, "num_iters", None)}, '
        f'weights={getattr(head, "weights", None)}, '
        f'solver={getattr(head, "solver", "sinkhorn")}',
        step_s=step_s, head_s=head_s, emd_s=emd_s,
        head_share=head_s / step_s, emd_share=emd_s / step_s,
        repeats=repeats,
        timing='step: wall clock (synchronised); head and EMD: CUDA '
        'events' if ctx.cuda else 'wall clock',
        note='head = predictor + EMD loss of the 2 pairs (2 x B '
        'problems of 7 x 7 nodes at 224 px), forward + backward; EMD = '
        'SpatialEMDHead.similarity of the predicted maps, forward + '
        'backward')
    return out


def _checked_step(model, optim, batch) -> dict:
    """One training step (as ``BaseModel.train_step``) that inspects the
    gradients after unscaling, before the optimizer step."""
    import torch
    with optim.optim_context(model):
        data = model.data_preprocessor(batch, True)
        losses = model._run_forward(data, mode='loss')
    loss, log_vars = model.parse_losses(losses)
    optim.backward(loss)
    scaler = optim.loss_scaler if hasattr(optim, 'loss_scaler') else None
    if scaler is not None and scaler.is_enabled():
        scaler.unscale_(optim.optimizer)
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    finite_grad = bool(torch.stack(
        [torch.isfinite(g).all() for g in grads]).all())
    finite_loss = bool(torch.isfinite(loss))
    optim.step()
    optim.zero_grad()
    scale = float(scaler.get_scale()) if scaler is not None and \
        scaler.is_enabled() else None
    return dict(loss=float(loss), finite_loss=finite_loss,
                finite_grad=finite_grad, scale=scale)


def section_amp(ctx: Context, deadline: Deadline) -> dict:
    """fp16 steps on real and degenerate batches; non-finite counts."""
    import torch
    from benchmark_utils import (
        build_model,
        build_optim,
        load_model_cfgs,
        make_batch,
    )
    _setup_mm(ctx)
    size = ctx.size['step']
    amp = ctx.size['amp']
    device = ctx.device
    if ctx.cuda:
        torch.backends.cudnn.benchmark = True
    dtype = 'float16' if ctx.cuda else 'bfloat16'
    cl = _best_setting(ctx)[1]
    _set_max_iters(amp['steps'] + 2 * amp['degenerate_steps'])
    model = build_model(
        load_model_cfgs(depth=size['depth'])['Self-EMD'], device)
    if cl:
        model.to(memory_format=torch.channels_last)
    optim = build_optim(model, None, dtype)
    real = [
        _to_device_batch(make_batch(size['batch'], [size['img']] * 2,
                                    10 + i), ctx)
        for i in range(amp['batches'])
    ]
    view = real[0]['inputs'][0]
    identical = dict(real[0], inputs=[view, view])
    constant = dict(real[0], inputs=[torch.full_like(view, 128)] * 2)
    phases = [('real', amp['steps'], lambda i: real[i % len(real)]),
              ('identical_views', amp['degenerate_steps'],
               lambda i: identical),
              ('constant_images', amp['degenerate_steps'],
               lambda i: constant)]
    out = dict(
        precision=_dtype_name(dtype), channels_last=cl,
        loss_scaling='dynamic (GradScaler)' if ctx.cuda else
        'none (bfloat16 on CPU: CPUAmpOptimWrapper)',
        setting=f"ResNet-{size['depth']}, 2 x {size['img']} px, batch "
        f"{size['batch']}", phases={})
    step_index = 0
    truncated = []
    per_step = None
    for name, steps, batch_of in phases:
        rec = dict(steps=0, nonfinite_loss_steps=0, overflow_steps=0,
                   overflow_steps_after_warmup=0, overflow_at=[],
                   first_loss=None, last_loss=None, scales=[])
        for i in range(steps):
            if per_step and deadline.left() < 2 * per_step:
                truncated.append(f'{name}: {rec["steps"]}/{steps} steps')
                break
            t0 = time.monotonic()
            res = _checked_step(model, optim, batch_of(i))
            per_step = time.monotonic() - t0
            rec['steps'] += 1
            rec['nonfinite_loss_steps'] += not res['finite_loss']
            if not res['finite_grad']:
                rec['overflow_steps'] += 1
                rec['overflow_at'].append(step_index)
                if step_index >= amp['warmup_steps']:
                    rec['overflow_steps_after_warmup'] += 1
            if rec['first_loss'] is None:
                rec['first_loss'] = res['loss']
            rec['last_loss'] = res['loss']
            if res['scale'] is not None and (
                    not rec['scales'] or rec['scales'][-1] != res['scale']):
                rec['scales'].append(res['scale'])
            step_index += 1
        out['phases'][name] = rec
        if truncated:
            break
    params_finite = all(
        bool(torch.isfinite(p).all()) for p in model.parameters())
    phases_out = out['phases'].values()
    out['total'] = dict(
        steps=sum(r['steps'] for r in phases_out),
        nonfinite_loss_steps=sum(
            r['nonfinite_loss_steps'] for r in phases_out),
        overflow_steps=sum(r['overflow_steps'] for r in phases_out),
        overflow_steps_after_warmup=sum(
            r['overflow_steps_after_warmup'] for r in phases_out),
        params_finite=params_finite)
    total = out['total']
    total['nonfinite_steps'] = total['nonfinite_loss_steps'] + total[
        'overflow_steps_after_warmup']
    out['note'] = (
        'overflow = non-finite gradients after unscaling: the GradScaler '
        f"skips that update and halves the scale; in the first "
        f"{amp['warmup_steps']} steps this is its calibration from "
        '2^16, later it counts as a non-finite step')
    if truncated:
        out['_status'] = 'partial'
        out['truncated'] = truncated
    return out


def _dist_config(ctx: Context, path: str, images: str) -> dict:
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
    text = f"""# written by tools/analysis_tools/gpu_check.py (dist section)
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _images_dir(ctx: Context, num: int) -> str:
    """COCO-size JPEGs: --images, the bundle's, or generated."""
    for folder in (ctx.args.images, BUNDLE_IMAGES):
        if folder and osp.isdir(folder) and any(
                f.lower().endswith('.jpg') for f in os.listdir(folder)):
            return folder
    from benchmark_utils import make_coco_size_jpegs
    folder = osp.join(ctx.scratch, 'images')
    if not osp.isdir(folder):
        make_coco_size_jpegs(folder, num)
    return folder


def section_dist(ctx: Context, deadline: Deadline) -> dict:
    """torchrun, 1 process, tools/train.py: 20 its, save, resume, compare."""
    size = ctx.size['dist']
    images = _images_dir(ctx, ctx.size['data']['images'])
    cfg_path = osp.join(ctx.scratch, 'dist_smoke.py')
    out = _dist_config(ctx, cfg_path, images)
    out.update(iters=size['iters'], batch=size['batch'],
               config='selfemd_resnet18_1xb32-coslr-100it_demo.py',
               amp='fp16 AMP (AmpOptimWrapper)' if ctx.cuda else
               'bf16 AMP (CPUAmpOptimWrapper)',
               launcher='torchrun --nproc_per_node 1 (pytorch launcher)')
    env = dict(os.environ)
    paths = [REPO] if osp.isdir(osp.join(REPO, 'mmselfemd')) else []
    env['PYTHONPATH'] = os.pathsep.join(
        paths + [p for p in env.get('PYTHONPATH', '').split(os.pathsep)
                 if p])
    env.setdefault('OMP_NUM_THREADS', '2')
    env.setdefault('NCCL_DEBUG', 'WARN')
    runs = {}
    half = size['iters'] // 2
    for name, extra in (('full', []), ('resumed', [
            '--resume',
            osp.join(ctx.scratch, 'dist_full', f'iter_{half}.pth')])):
        work = osp.join(ctx.scratch, f'dist_{name}')
        cmd = [
            sys.executable, '-m', 'torch.distributed.run',
            '--nnodes=1', '--nproc_per_node=1',
            '--master_addr=127.0.0.1', f'--master_port={_free_port()}',
            TRAIN, cfg_path, '--launcher', 'pytorch', '--work-dir', work,
            '--amp'
        ] + extra
        timeout = max(deadline.left() - (30 if name == 'full' else 0), 10)
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
        runs[name] = dict(
            wall_s=wall, iters_logged=sorted(scalars),
            losses={it: rec['loss'] for it, rec in scalars.items()},
            iter_time_s=_median([
                rec['time'] for it, rec in scalars.items()
                if 'time' in rec and it > 2
            ]),
            distributed='Distributed training: True' in log_text,
            checkpoints=sorted(
                f for f in os.listdir(work) if f.endswith('.pth')))
        log(f'  dist {name}: {wall:.1f} s, iterations '
            f'{min(scalars, default=0)}-{max(scalars, default=0)}')
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


def section_data(ctx: Context, deadline: Deadline) -> dict:
    """Throughput of the default COCO pipeline with all cores."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    _setup_mm(ctx)
    size = ctx.size['data']
    images = _images_dir(ctx, size['images'])
    cores = len(os.sched_getaffinity(0)) if hasattr(
        os, 'sched_getaffinity') else os.cpu_count()
    workers = ctx.args.workers or cores
    if ctx.args.tiny and ctx.args.workers is None:
        workers = min(workers, 2)
    cfg = Config.fromfile(DATA_CFG).train_dataloader.to_dict()
    cfg.update(
        batch_size=size['batch'], num_workers=workers,
        persistent_workers=False, pin_memory=ctx.cuda,
        sampler=dict(type='InfiniteSampler', shuffle=True))
    cfg['dataset'].update(data_root='', ann_file='',
                          data_prefix=dict(img=images), check_files=8)
    loader = Runner.build_dataloader(cfg, seed=0)
    num_images = len(loader.dataset)
    t0 = time.monotonic()
    it = iter(loader)
    first = next(it)
    startup = time.monotonic() - t0
    views = [tuple(v.shape) for v in first['inputs']]
    seconds = min(size['seconds'], max(deadline.left() - 10, 1))
    batches = 0
    t0 = time.monotonic()
    while batches < size['max_batches'] and \
            time.monotonic() - t0 < seconds:
        next(it)
        batches += 1
    elapsed = time.monotonic() - t0
    del it, loader
    pairs_per_s = batches * size['batch'] / elapsed
    out = dict(
        pipeline='configs/_base_/datasets/coco_selfemd.py train_pipeline '
        '(2 x 224 px views)', images=images,
        num_images=num_images, image_size='640x480 / 480x640 JPEG q90',
        workers=workers, cores=cores, batch=size['batch'],
        batches=batches, seconds=elapsed, startup_s=startup,
        views=views, pairs_per_s=pairs_per_s,
        pairs_per_s_per_worker=pairs_per_s / max(workers, 1))
    step = ctx.results.get('step', {}).get('result', {})
    need = {}
    if step.get('recipe'):
        need['recipe'] = step['recipe']['selfemd_pairs_per_s']
    if step.get('best_amp'):
        need['two_views'] = step['best_amp']['selfemd_pairs_per_s']
    out['step_pairs_per_s'] = need
    if need:
        rate = need.get('two_views', need.get('recipe'))
        out['can_feed'] = pairs_per_s >= rate
        out['feed_margin'] = pairs_per_s / rate
        out['compared_with'] = 'two_views' if 'two_views' in need \
            else 'recipe'
    return out


SECTION_FNS = dict(env=section_env, emd=section_emd, step=section_step,
                   head_share=section_head_share, amp=section_amp,
                   dist=section_dist, data=section_data)


# ----------------------------------------------------------------- report
def judge_targets(ctx: Context) -> dict:
    """The issue's targets, with the measured values; judged (``met``)
    only on a full run on CUDA."""
    res = {k: v.get('result', {}) for k, v in ctx.results.items()}
    judged = not ctx.args.tiny and ctx._device is not None and ctx.cuda
    out = {}

    def add(name, value, target, ok, text):
        out[name] = dict(value=value, target=target, text=text,
                         met=(ok if judged else None)
                         if value is not None else None)

    share = res.get('head_share', {}).get('head_share')
    add('head_share', share, TARGETS['head_share_max'],
        share is not None and share <= TARGETS['head_share_max'],
        'EMD head (predictor + EMD) share of the GPU step <= 5 %')
    best = res.get('step', {}).get('best_amp', {})
    ratio = best.get('ratio')
    add('amp_step_ratio', ratio, TARGETS['amp_step_ratio_max'],
        ratio is not None and ratio <= TARGETS['amp_step_ratio_max'],
        'Self-EMD / BYOL step time under AMP <= 1.05 (fastest AMP '
        'setting)')
    pairs = best.get('selfemd_pairs_per_s')
    add('pairs_per_s', pairs, TARGETS['pairs_per_s_min'],
        pairs is not None and pairs >= TARGETS['pairs_per_s_min'],
        '>= 1,000 Self-EMD pairs/s per H100/H200-class GPU, ResNet-50, '
        '224 px')
    total = res.get('amp', {}).get('total', {})
    bad = total.get('nonfinite_steps')
    if bad is not None and not total.get('params_finite', True):
        bad += 1
    add('nonfinite_steps', bad, TARGETS['nonfinite_steps_max'],
        bad is not None and bad <= TARGETS['nonfinite_steps_max'],
        'zero non-finite steps (fp16, real and degenerate batches)')
    return out


def _clean(value):
    """JSON-safe: NaN/inf become None, dict keys strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _fmt(value, spec='.3f', none='-') -> str:
    if value is None:
        return none
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    return format(value, spec)


def _table(header: List[str], rows: List[List[str]]) -> List[str]:
    """Markdown table lines; columns after the first two right-aligned."""
    align = ['---' if i < 2 else '---:' for i in range(len(header))]
    return [f"| {' | '.join(cells)} |" for cells in [header, align] + rows]


def render_markdown(report: dict) -> str:
    """The summary of gpu_check.json as markdown."""
    env = report['sections'].get('env', {}).get('result', {})
    tiny = ' (tiny rehearsal)' if report['tiny'] else ''
    lines = [
        '# GPU check of mmselfemd', '',
        f"- date: {report['started']} to {report.get('finished', '-')} "
        f"({_fmt(report.get('elapsed_s'), '.0f')} s, budget "
        f"{report['budget_s']:.0f} s)",
        f"- command: `{report['command']}`",
        f"- device: {report['device']}{tiny}",
        f"- machine: {env.get('gpu', 'no GPU')}; "
        f"{env.get('nvidia_smi', '')}; CPUs {env.get('cpu_affinity')}; "
        f"python {env.get('python')}, torch {env.get('torch')} (CUDA "
        f"{env.get('torch_cuda')}, cuDNN {env.get('cudnn')})",
        f"- made unimportable (pretraining must not need them): "
        f"{', '.join(env.get('blocked') or []) or 'none'}; mmcv has "
        f"compiled ops: {_fmt(env.get('mmcv_has_compiled_ops'))}"
    ]
    lines += [f'- note: {n}' for n in env.get('notes') or []]
    lines.append('')
    lines += _table(['section', 'status', 'time (s)', 'message'], [[
        name, sec['status'], _fmt(sec.get('elapsed_s'), '.1f'),
        (sec.get('error') or '').replace('|', '/').replace('\n', ' ')[:300]
    ] for name, sec in report['sections'].items()])
    met = {True: 'yes', False: '**no**', None: 'not judged'}
    lines += ['', '## Targets', '']
    lines += _table(['target', 'value', 'met'], [
        [t['text'], _fmt(t['value'], '.4g'), met[t['met']]]
        for t in report.get('targets', {}).values()])
    res = {name: sec.get('result') for name, sec in
           report['sections'].items()}
    sec = res.get('emd')
    if sec:
        lines += ['', f"## EMD solver (B = {sec['batch']}, C = "
                  f"{sec['channels']}, forward + backward; {sec['timing']})",
                  '']
        lines += _table(
            ['N', 'method', 'time (ms)', 'ratio to POT exact',
             'error vs exact'],
            [[str(r['nodes']), r['method'], _fmt(r['time_ms'], '.2f'),
              _fmt(r['ratio_to_pot_exact'], '.3f'),
              _fmt(r['error_pct'], '.2f') + ' %'] for r in sec['rows']])
    sec = res.get('step')
    if sec:
        lines += ['', f"## Training step ({sec['setting']})", '']
        lines += _table(
            ['precision', 'channels_last', 'Self-EMD (ms)', 'BYOL (ms)',
             'ratio', 'paired ratio', 'Self-EMD pairs/s', 'BYOL pairs/s',
             'Self-EMD peak / step (MiB)', 'BYOL peak / step (MiB)'],
            [[r['precision'], _fmt(r['channels_last']),
              _fmt(r['selfemd_step_s'] * 1e3, '.1f'),
              _fmt(r['byol_step_s'] * 1e3, '.1f'), _fmt(r['ratio']),
              _fmt(r['paired_ratio']), _fmt(r['selfemd_pairs_per_s'], '.0f'),
              _fmt(r['byol_pairs_per_s'], '.0f'),
              f"{_fmt(r['selfemd_peak_mb'], '.0f')} / "
              f"{_fmt(r['selfemd_step_mb'], '.0f')}",
              f"{_fmt(r['byol_peak_mb'], '.0f')} / "
              f"{_fmt(r['byol_step_mb'], '.0f')}"] for r in sec['rows']])
        lines.append('\nPeak: `torch.cuda.max_memory_allocated` during the '
                     'step, both models resident; step: the part above what '
                     'was allocated before it (activations, gradients).')
        r = sec.get('recipe')
        if r:
            lines.append(
                f"\nSelf-EMD SPC recipe ({r['setting']}): "
                f"{r['selfemd_step_s'] * 1e3:.1f} ms, "
                f"{r['selfemd_pairs_per_s']:.0f} pairs/s, peak "
                f"{_fmt(r['selfemd_peak_mb'], '.0f')} MiB.")
    sec = res.get('head_share')
    if sec:
        lines += ['', f"## EMD head share ({sec['setting']})", '',
                  f"Step {sec['step_s'] * 1e3:.2f} ms; head (predictor + "
                  f"EMD) {sec['head_s'] * 1e3:.2f} ms = "
                  f"{sec['head_share'] * 100:.2f} %; EMD alone "
                  f"{sec['emd_s'] * 1e3:.2f} ms = "
                  f"{sec['emd_share'] * 100:.2f} % ({sec['head']})."]
    sec = res.get('amp')
    if sec:
        lines += ['', f"## AMP safety ({sec['precision']}, "
                  f"{sec['setting']}, loss scaling {sec['loss_scaling']})",
                  '']
        lines += _table(
            ['batches', 'steps', 'non-finite losses',
             'overflow steps (after warm-up)', 'loss first -> last',
             'loss scales'],
            [[name, str(r['steps']), str(r['nonfinite_loss_steps']),
              f"{r['overflow_steps']} ({r['overflow_steps_after_warmup']})",
              f"{_fmt(r['first_loss'], '.4f')} -> "
              f"{_fmt(r['last_loss'], '.4f')}",
              ', '.join(f'{v:g}' for v in r['scales'][:6]) or '-']
             for name, r in sec['phases'].items()])
        lines.append(f"\nParameters finite at the end: "
                     f"{_fmt(sec['total']['params_finite'])}. "
                     f"{sec['note']}.")
    sec = res.get('dist')
    if sec:
        full = sec['runs']['full']
        first, last = sec['compared_iters'][0], sec['compared_iters'][-1]
        lines += ['', f"## Distributed smoke ({sec['launcher']}, "
                  f"{sec['backend']}, {sec['norm']}, {sec['amp']})", '',
                  f"{sec['config']}, {sec['iters']} iterations "
                  f"({_fmt(full['wall_s'], '.1f')} s, "
                  f"{_fmt(full['iter_time_s'], '.3f')} s/iteration), "
                  f"resumed from iteration {first - 1}: losses of "
                  f"iterations {first}-{last} max abs difference "
                  f"{sec['max_abs_diff']:.3g}, max relative "
                  f"{sec['max_rel_diff']:.3g} (tolerance "
                  f"{sec['rel_tolerance']:g}); equal bit for bit: "
                  f"{_fmt(sec['resume_losses_equal'])}. {sec['note']}."]
    sec = res.get('data')
    if sec:
        feed = ''
        if 'can_feed' in sec:
            feed = (f" Step rate to feed ({sec['compared_with']}): "
                    f"{sec['step_pairs_per_s'][sec['compared_with']]:.0f} "
                    f"pairs/s -> can feed: {_fmt(sec['can_feed'])} "
                    f"({sec['feed_margin']:.2f}x).")
        lines += ['', f"## Data pipeline ({sec['pipeline']})", '',
                  f"{sec['workers']} workers ({sec['cores']} cores), batch "
                  f"{sec['batch']}, {sec['num_images']} images "
                  f"({sec['image_size']}): {sec['pairs_per_s']:.0f} pairs/s "
                  f"({sec['pairs_per_s_per_worker']:.1f} per worker) over "
                  f"{sec['batches']} batches in {sec['seconds']:.1f} s."
                  + feed]
    return '\n'.join(lines) + '\n'


def write_report(report: dict, out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    clean = _clean(report)
    tmp = osp.join(out_dir, 'gpu_check.json.tmp')
    with open(tmp, 'w') as f:
        json.dump(clean, f, indent=1)
    os.replace(tmp, osp.join(out_dir, 'gpu_check.json'))
    with open(osp.join(out_dir, 'gpu_check.md'), 'w') as f:
        f.write(render_markdown(clean))


# ------------------------------------------------------------------- main
def _hard_limit(seconds: float) -> None:
    """Raise SectionTimeout in the main thread after ``seconds``."""

    def handler(signum, frame):
        raise SectionTimeout(f'hard time limit ({seconds:.0f} s) reached')

    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 1))


def _sigterm(signum, frame):
    raise Terminated(f'terminated by signal {signum}')


def run(args: argparse.Namespace) -> dict:
    budget = args.budget or (300.0 if args.tiny else 420.0)
    blocked = [] if args.allow_full_mmcv else block_modules()
    scratch = tempfile.mkdtemp(prefix='gpu_check_')
    ctx = Context(args, scratch, blocked)
    report = dict(
        version=1, command=' '.join([osp.relpath(__file__)] + sys.argv[1:]),
        started=datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec='seconds'),
        device=args.device, tiny=args.tiny, budget_s=budget,
        sections={}, targets={})
    signal.signal(signal.SIGTERM, _sigterm)
    if not args.tiny and args.device == 'cpu':
        log('warning: the full sizes (ResNet-50, batch 64) on a CPU take '
            'far longer than the budget; sections will stop early or time '
            'out. Use --tiny for the CPU rehearsal.')
    t_start = time.monotonic()
    plan_total = sum(PLAN_S[s] for s in args.sections)
    planned_end = 0.0
    try:
        for name in args.sections:
            planned_end += budget * PLAN_S[name] / plan_total
            now = time.monotonic() - t_start
            soft = max(planned_end - now, 0.5 * budget * PLAN_S[name] /
                       plan_total)
            soft = min(soft, budget - now)
            rec = dict(status='running', cap_s=soft)
            report['sections'][name] = rec
            log(f'{name}: start (cap {soft:.0f} s, '
                f'{budget - now:.0f} s of the budget left)')
            t0 = time.monotonic()
            try:
                if soft <= 1:
                    raise SectionTimeout('no time left in the budget')
                _hard_limit(soft + max(30.0, 0.25 * soft))
                result = SECTION_FNS[name](ctx, Deadline(soft))
                signal.setitimer(signal.ITIMER_REAL, 0)
                rec['status'] = result.pop('_status', 'ok')
                rec['result'] = result
            except Terminated as exc:
                signal.setitimer(signal.ITIMER_REAL, 0)
                rec.update(status='killed', error=str(exc))
                raise
            except Exception as exc:  # noqa: BLE001 (recorded, go on)
                signal.setitimer(signal.ITIMER_REAL, 0)
                status = 'timeout' if isinstance(exc, SectionTimeout) \
                    else 'failed'
                rec.update(status=status,
                           error=f'{type(exc).__name__}: {exc}',
                           traceback=traceback.format_exc()[-4000:])
            rec['elapsed_s'] = time.monotonic() - t0
            ctx.results[name] = rec
            _free_cuda()
            log(f"{name}: {rec['status']} in {rec['elapsed_s']:.1f} s"
                + (f" -- {rec['error'][:500]}" if rec.get('error') else ''))
            report['targets'] = judge_targets(ctx)
            write_report(report, args.out_dir)
    except Terminated:
        pass
    finally:
        report['finished'] = datetime.datetime.now(
            datetime.timezone.utc).isoformat(timespec='seconds')
        report['elapsed_s'] = time.monotonic() - t_start
        report['targets'] = judge_targets(ctx)
        if args.keep_scratch:
            report['scratch'] = scratch
        write_report(report, args.out_dir)
        if not args.keep_scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return report


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.prepare_images:
        from benchmark_utils import make_coco_size_jpegs
        paths = make_coco_size_jpegs(args.prepare_images, args.num_images)
        print(f'wrote {len(paths)} JPEGs to {args.prepare_images}')
        return 0
    import warnings
    warnings.filterwarnings('ignore')
    report = run(args)
    statuses = {n: s['status'] for n, s in report['sections'].items()}
    log(f'wrote {osp.join(args.out_dir, "gpu_check.json")} and '
        f'gpu_check.md; sections: {statuses}')
    print(render_markdown(_clean(report)), flush=True)
    return 0 if all(s == 'ok' for s in statuses.values()) else 1


if __name__ == '__main__':
    sys.exit(main())
