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

    python projects/benchmarks/tools/benchmark_step.py --depth 18 \\
        --img-size 96 --batch-size 32
    python projects/benchmarks/tools/benchmark_step.py --depth 50 \\
        --img-size 224 --batch-size 8
    # on a GPU
    python projects/benchmarks/tools/benchmark_step.py --depth 50 \\
        --img-size 224 --batch-size 64 --amp
"""
import argparse
import json
import os
import os.path as osp
import platform
import statistics
import sys

import torch
from mmengine.logging import MMLogger

from mmselfemd.utils import register_all_modules

# the repository root, which holds projects/ (run from anywhere)
REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from projects.benchmarks import (  # noqa: E402
    build_optim,
    build_step_models,
    make_batch,
    measure_steps,
    mmpretrain_byol_cfg,
    set_max_iters,
)


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

    # CosineEMA reads max_iters from the current MessageHub.
    set_max_iters(args.warmup + args.repeats + 1, 'benchmark_step')
    models = build_step_models(device, args.depth, mmpretrain_byol_cfg(),
                               not args.no_global, args.spatial_hid)
    optims = {
        name: build_optim(m, dtype='float16' if args.amp else None)
        for name, m in models.items()
    }
    sizes = [args.img_size] * 2 + [args.small_size] * args.small_views
    batch = make_batch(args.batch_size, sizes, args.seed)
    # BYOL takes the first two views only
    data = {'Self-EMD': batch,
            'BYOL': dict(batch, inputs=batch['inputs'][:2])}

    measure_steps(models, optims, data, device, args.warmup, 0)
    # Other processes skew CPU timings: record the load around the runs.
    load_start = os.getloadavg()[0]
    res = measure_steps(models, optims, data, device, 0, args.repeats)
    times = {name: r['wall_s'] for name, r in res.items()}
    cpu_times = {name: r['cpu_s'] for name, r in res.items()}
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
