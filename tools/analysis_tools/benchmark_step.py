# Copyright (c) mmselfemd contributors. All rights reserved.
"""Time one full training step of Self-EMD against mmpretrain's BYOL.

A step is what the runner does per iteration: data preprocessing, forward
(online views, EMA update of the target, target views), backward and the
optimizer update (LARS with BYOL's parameter rules, through an mmengine
``OptimWrapper``; ``AmpOptimWrapper`` on GPU with ``--amp``). Both models
get the same backbone, the same batch of views (real images shipped with
scikit-image, random crops) and the same optimizer; their steps are
alternated so that drifts of the machine hit both, and the medians and
their ratio are reported.

Self-EMD is built from ``configs/_base_/models/selfemd_resnet50.py``; BYOL
from mmpretrain's own ``byol_resnet50_16xb256-coslr-200e_in1k.py``. For
ResNet-18 the 2048-channel inputs of the necks become 512; SyncBN becomes
BN (one process).

Examples::

    python tools/analysis_tools/benchmark_step.py --depth 18 --img-size 96 \\
        --batch-size 32
    python tools/analysis_tools/benchmark_step.py --depth 50 --img-size 224 \\
        --batch-size 8
    # on a GPU
    python tools/analysis_tools/benchmark_step.py --depth 50 --img-size 224 \\
        --batch-size 64 --amp
"""
import argparse
import copy
import json
import os
import os.path as osp
import platform
import statistics
import time
from typing import Callable, Dict, List, Optional, Tuple

import mmpretrain
import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub, MMLogger
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmpretrain.structures import DataSample

from mmselfemd.registry import MODELS
from mmselfemd.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SELFEMD_CFG = osp.join(REPO, 'configs/_base_/models/selfemd_resnet50.py')
# mmpretrain's own BYOL recipe, shipped with the package (the 'mmpretrain::'
# form needs pkg_resources, which setuptools >= 81 lacks).
BYOL_CFG = osp.join(
    osp.dirname(mmpretrain.__file__), '.mim', 'configs', 'byol',
    'byol_resnet50_16xb256-coslr-200e_in1k.py')
SKIMAGE_IMAGES = ('astronaut', 'coffee', 'chelsea', 'rocket',
                  'hubble_deep_field', 'retina')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Training-step time of Self-EMD vs mmpretrain BYOL')
    parser.add_argument('--depth', type=int, default=18, choices=[18, 50])
    parser.add_argument('--img-size', type=int, default=96,
                        help='size of the two large views')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument(
        '--small-views', type=int, default=0,
        help='extra small views given to Self-EMD only (BYOL ignores '
        'views beyond the first two); 0 for the like-for-like ratio')
    parser.add_argument('--small-size', type=int, default=96)
    parser.add_argument('--no-global', action='store_true',
                        help='Self-EMD without its global branch')
    parser.add_argument(
        '--spatial-hid', type=int, default=None,
        help='hidden width of the spatial projector and predictor '
        "(default: the config's 4096); for what-if rows only")
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed steps per model')
    parser.add_argument('--repeats', type=int, default=7,
                        help='timed steps per model')
    parser.add_argument('--device', default='auto',
                        help="'auto' (cuda if available), 'cpu' or 'cuda'")
    parser.add_argument('--amp', action='store_true',
                        help='AmpOptimWrapper (GPU only)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch default)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--json', help='write the results to this file')
    return parser.parse_args()


def _adapt(cfg: dict, depth: int) -> dict:
    """ResNet depth and matching neck input widths."""
    cfg = copy.deepcopy(cfg)
    cfg['backbone']['depth'] = depth
    in_channels = 2048 if depth >= 50 else 512

    def visit(node):
        if isinstance(node, dict):
            if node.get('in_channels') == 2048:
                node['in_channels'] = in_channels
            for value in node.values():
                visit(value)

    visit(cfg)
    return cfg


def build_models(depth: int,
                 with_global: bool,
                 device: torch.device,
                 spatial_hid: Optional[int] = None
                 ) -> Dict[str, torch.nn.Module]:
    selfemd_cfg = _adapt(Config.fromfile(SELFEMD_CFG).model.to_dict(), depth)
    if not with_global:
        selfemd_cfg.update(global_neck=None, global_head=None)
    if spatial_hid is not None:
        selfemd_cfg['neck']['hid_channels'] = spatial_hid
        selfemd_cfg['head']['predictor']['hid_channels'] = spatial_hid
    byol_cfg = _adapt(Config.fromfile(BYOL_CFG).model.to_dict(), depth)
    byol_cfg['type'] = 'mmpretrain.BYOL'
    byol_cfg['data_preprocessor'] = copy.deepcopy(
        selfemd_cfg['data_preprocessor'])
    models = {}
    for name, cfg in (('Self-EMD', selfemd_cfg), ('BYOL', byol_cfg)):
        torch.manual_seed(0)
        model = MODELS.build(cfg)
        model.init_weights()
        # One process: SyncBN -> BN (also inside the EMA target).
        model = revert_sync_batchnorm(model).to(device).train()
        models[name] = model
    return models


def build_optim(model: torch.nn.Module, amp: bool):
    """LARS with mmpretrain BYOL's parameter rules."""
    cfg = dict(
        type='AmpOptimWrapper' if amp else 'OptimWrapper',
        optimizer=dict(
            type='LARS', lr=0.3, momentum=0.9, weight_decay=1.5e-6),
        paramwise_cfg=dict(
            custom_keys={
                'bn': dict(decay_mult=0, lars_exclude=True),
                'bias': dict(decay_mult=0, lars_exclude=True),
                'downsample.1': dict(decay_mult=0, lars_exclude=True),
            }))
    return build_optim_wrapper(model, cfg)


def make_batch(batch_size: int, sizes: List[int], seed: int) -> dict:
    """uint8 views (random crops of real images) + DataSamples, as
    ``default_collate`` hands them to the data preprocessor."""
    rng = np.random.default_rng(seed)
    try:
        from skimage import data as skdata
        images = []
        for name in SKIMAGE_IMAGES:
            img = getattr(skdata, name)()
            if img.ndim == 2:
                img = np.stack([img] * 3, -1)
            images.append(torch.from_numpy(
                np.ascontiguousarray(img[..., :3])).permute(2, 0, 1))
    except ImportError:  # random pixels when scikit-image is missing
        images = [
            torch.from_numpy(rng.integers(0, 256, (3, 512, 512),
                                          dtype=np.uint8))
        ]
    views = []
    for size in sizes:
        crops = []
        for _ in range(batch_size):
            img = images[rng.integers(len(images))]
            h, w = img.shape[1:]
            side = int(rng.integers(min(h, w) // 3, min(h, w) + 1))
            y = int(rng.integers(0, h - side + 1))
            x = int(rng.integers(0, w - side + 1))
            crop = img[None, :, y:y + side, x:x + side].float()
            crop = torch.nn.functional.interpolate(
                crop, size=(size, size), mode='bilinear', align_corners=False)
            crops.append(crop[0].round().clamp(0, 255).to(torch.uint8))
        views.append(torch.stack(crops))
    return dict(
        inputs=views, data_samples=[DataSample() for _ in range(batch_size)])


def time_step(step: Callable[[], dict],
              device: torch.device) -> Tuple[float, float]:
    """Wall time and CPU time (of this process, all its threads) of one
    step. On a shared CPU the CPU time is the robust measure with one
    thread: it does not count the time the process waits for a core."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    wall, cpu = time.perf_counter(), time.process_time()
    step()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    args = parse_args()
    # Quiet: weight-init reports and "requires_grad=False" notes.
    MMLogger.get_instance('benchmark_step', log_level='ERROR')
    register_all_modules(init_default_scope=True)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.device == 'auto':
        device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    else:
        device = torch.device(args.device)
    if args.amp and device.type != 'cuda':
        raise SystemExit('--amp needs a CUDA device')
    torch.manual_seed(args.seed)
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True

    total = args.warmup + args.repeats + 1
    # CosineEMA reads max_iters from the current MessageHub.
    MessageHub.get_instance('benchmark_step').update_info('max_iters', total)
    models = build_models(args.depth, not args.no_global, device,
                          args.spatial_hid)
    optims = {name: build_optim(m, args.amp) for name, m in models.items()}
    sizes = [args.img_size] * 2 + [args.small_size] * args.small_views
    data = {
        'Self-EMD': make_batch(args.batch_size, sizes, args.seed),
    }
    byol_data = dict(data['Self-EMD'])
    byol_data['inputs'] = byol_data['inputs'][:2]
    data['BYOL'] = byol_data

    def step_fn(name):
        return lambda: models[name].train_step(data[name], optims[name])

    for _ in range(args.warmup):
        for name in models:
            step_fn(name)()
    # Other processes skew CPU timings: record the load around the runs.
    load_start = os.getloadavg()[0]
    times: Dict[str, List[float]] = {name: [] for name in models}
    cpu_times: Dict[str, List[float]] = {name: [] for name in models}
    order = list(models)
    for r in range(args.repeats):
        for name in (order if r % 2 == 0 else order[::-1]):
            wall, cpu = time_step(step_fn(name), device)
            times[name].append(wall)
            cpu_times[name].append(cpu)

    load_end = os.getloadavg()[0]
    med = {name: statistics.median(t) for name, t in times.items()}
    ratio = med['Self-EMD'] / med['BYOL']
    # Steps r of both models ran back to back, under the same conditions:
    # the median of these ratios is robust to drifts of the machine.
    paired = statistics.median(
        a / b for a, b in zip(times['Self-EMD'], times['BYOL']))
    cpu_med = {name: statistics.median(t) for name, t in cpu_times.items()}
    cpu_ratio = cpu_med['Self-EMD'] / cpu_med['BYOL']
    if device.type == 'cuda':
        machine = torch.cuda.get_device_name(device)
    else:
        machine = (f'{platform.processor() or platform.machine()}, '
                   f'{torch.get_num_threads()} threads')
    setting = (f'ResNet-{args.depth}, {args.img_size} px x2'
               + (f' (+{args.small_views} x {args.small_size} px for '
                  'Self-EMD)' if args.small_views else '')
               + f', batch {args.batch_size}, {device.type}'
               + (', AMP' if args.amp else '')
               + (', no global branch' if args.no_global else '')
               + (f', spatial hidden width {args.spatial_hid}'
                  if args.spatial_hid else ''))
    result = dict(
        setting=setting,
        machine=machine,
        torch=torch.__version__,
        repeats=args.repeats,
        warmup=args.warmup,
        times_s=times,
        cpu_times_s=cpu_times,
        cpu_median_s=cpu_med,
        cpu_ratio=cpu_ratio,
        median_s=med,
        ratio=ratio,
        paired_ratio=paired,
        loadavg_1min=[load_start, load_end])
    print(json.dumps(result, indent=2))
    print('\n| setting | Self-EMD step (s) | BYOL step (s) '
          '| ratio of medians | median of paired ratios '
          '| CPU-time ratio |')
    print('|---|---|---|---|---|---|')
    print(f"| {setting} | {med['Self-EMD']:.3f} | {med['BYOL']:.3f} | "
          f'{ratio:.3f} | {paired:.3f} | {cpu_ratio:.3f} |')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)


if __name__ == '__main__':
    main()
