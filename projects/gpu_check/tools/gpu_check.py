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
   ours (the default of the head and ``emd_similarity``, ε = 0.1
   relative to the centred cost's spread / 30 iterations, which
   ``head_share`` also times inside the head; the previous ε = 0.05 / 30;
   ε = 0.05 / 50 iterations, and ε = 0.01 / 100 iterations: the ≤ 1 %
   setting),
   geomloss and POT's exact solver (its time includes the copies to the
   host), timed with CUDA events after a warm-up
   (``projects.benchmarks.compare_emd_solvers``).
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

The sections, the time plan and the report are library code
(``projects/gpu_check/``); this script is their command line.
``--device cpu --tiny`` runs every section at toy size in about a minute
(the CPU rehearsal of the tests). On CPU, AMP is bfloat16 (float16 with
loss scaling needs CUDA) and SyncBN becomes BN in the ``dist`` section
(torch's SyncBatchNorm refuses CPU tensors once a process group exists).

Examples::

    # on a CUDA machine, with the offline bundle (see ../README.md)
    bash projects/gpu_check/tools/run_gpu_check.sh \\
        --out-dir work_dirs/gpu_check
    # the same, by hand
    python projects/gpu_check/tools/gpu_check.py \\
        --out-dir work_dirs/gpu_check
    # CPU rehearsal
    python projects/gpu_check/tools/gpu_check.py --device cpu --tiny \\
        --out-dir work_dirs/gpu_check_cpu
    # only some sections
    python projects/gpu_check/tools/gpu_check.py --sections env step
"""
import argparse
import os.path as osp
import sys

# the folder that holds projects/: the checkout, or the GPU bundle (which
# carries projects/ beside the installed wheels)
REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
if REPO not in sys.path:
    sys.path.insert(1, REPO)


def parse_args(sections, argv=None) -> argparse.Namespace:
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
        help='total seconds (default 420 on the full check, 600 with '
        '--tiny); each section gets its planned share, plus what earlier '
        'sections left unused')
    parser.add_argument('--sections', nargs='+', choices=sections,
                        default=list(sections), help='sections to run')
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


def main(argv=None) -> int:
    try:
        import mmselfemd  # noqa: F401 (it needs torch and mmengine)
        from projects import gpu_check
        from projects.benchmarks import make_coco_size_jpegs
    except ImportError as exc:
        print(f'[gpu_check] error: mmselfemd is not importable '
              f'({type(exc).__name__}: {exc}); install the offline bundle '
              '(bash projects/gpu_check/tools/run_gpu_check.sh) or '
              'requirements.txt',
              file=sys.stderr, flush=True)
        return 2
    args = parse_args(gpu_check.SECTIONS, argv)
    if args.prepare_images:
        paths = make_coco_size_jpegs(args.prepare_images, args.num_images)
        print(f'wrote {len(paths)} JPEGs to {args.prepare_images}')
        return 0
    import warnings
    warnings.filterwarnings('ignore')
    report = gpu_check.run_gpu_check(
        args, command=' '.join([osp.relpath(__file__)] + sys.argv[1:]))
    statuses = {n: s['status'] for n, s in report['sections'].items()}
    gpu_check.CheckContext.log(
        f'wrote {osp.join(args.out_dir, "gpu_check.json")} and '
        f'gpu_check.md; sections: {statuses}')
    print(gpu_check.render_markdown(gpu_check.clean_report(report)),
          flush=True)
    return 0 if all(s == 'ok' for s in statuses.values()) else 1


if __name__ == '__main__':
    sys.exit(main())
