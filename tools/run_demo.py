# Copyright (c) mmselfemd contributors. All rights reserved.
"""End-to-end Self-EMD demo on generated scenes, in minutes on a CPU.

Stages (each one the tool a user would run):

1. generate cluttered multi-object scenes from real photographs that
   scikit-image ships (COCO-format boxes; deterministic; no download);
2. Self-EMD pretraining of a ResNet-18 on the unlabeled scenes
   (``tools/train.py``);
3. backbone extraction
   (``tools/model_converters/extract_backbone_weights.py``);
4. Faster R-CNN R18-FPN fine-tuning with MMDetection from the extracted
   backbone, and the same fine-tuning from random init;
5. COCO bbox AP of both on the held-out split, a loss-curve PNG and a
   transport-plan PNG (``tools/analysis_tools/visualize_transport.py``).

Usage::

    python tools/run_demo.py [--work-dir work_dirs/demo] [--seed 0] [--quick]

The numbers of the run are also written to ``WORK_DIR/demo_results.json``
(seed, AP and AP50 of both inits, the margin, wall time), which
``projects/demo/tools/demo_margin.py`` summarises over seeds.
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PRETRAIN_CFG = 'configs/selfemd/selfemd_resnet18_1xb32-coslr-100it_demo.py'
DET_DIR = 'configs/benchmarks/mmdetection/demo/'
DET_CFG = DET_DIR + 'faster-rcnn_r18-pre_fpn_1xb8-150it_demo.py'
DET_SCRATCH_CFG = DET_DIR + 'faster-rcnn_r18-scratch_fpn_1xb8-150it_demo.py'

# (stage name, rough share of the wall time) for the overall ETA
STAGES = [('data', 0.01), ('pretrain', 0.33), ('extract', 0.02),
          ('finetune-selfemd', 0.30), ('finetune-random', 0.30),
          ('pictures', 0.04)]

DATA = ''  # set by main(): the demo data root, passed to the configs
ITER_RE = re.compile(r'Iter\(train\)\s*\[\s*(\d+)/(\d+)\]')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--work-dir', default='work_dirs/demo', help='where outputs go')
    parser.add_argument(
        '--pretrain-iters', type=int, default=None,
        help='override the pretraining length (iterations; the warm-up '
        'and cosine schedule are rescaled to it)')
    parser.add_argument(
        '--finetune-iters', type=int, default=None,
        help='override the fine-tuning length (iterations)')
    parser.add_argument(
        '--seed', type=int, default=None,
        help='randomness.seed of the pretraining and of both fine-tunings '
        '(default: the seed of the configs, 0); the generated scenes are '
        'the same for every seed')
    parser.add_argument(
        '--quick', action='store_true',
        help='a few iterations per stage (smoke test, AP meaningless)')
    return parser.parse_args()


class Progress:
    """Prints stage progress with an overall ETA."""

    def __init__(self):
        self.start = time.time()
        self.done_share = 0.0

    def fmt(self, seconds: float) -> str:
        seconds = max(0, int(seconds))
        return f'{seconds // 60}m{seconds % 60:02d}s'

    def report(self, stage: str, frac: float, extra: str = '') -> None:
        share = dict(STAGES)[stage]
        total = self.done_share + share * frac
        elapsed = time.time() - self.start
        eta = elapsed / total * (1 - total) if total > 0.02 else float('nan')
        eta_s = self.fmt(eta) if eta == eta else '?'
        idx = [s for s, _ in STAGES].index(stage) + 1
        print(f'[demo {idx}/{len(STAGES)} {stage:<17}] {frac:6.1%} '
              f'elapsed {self.fmt(elapsed)} ETA {eta_s} {extra}',
              flush=True)

    def finish(self, stage: str) -> None:
        self.done_share += dict(STAGES)[stage]


def run_tool(progress: Progress, stage: str, cmd: List[str],
             log_file: str) -> None:
    """Run one tool, stream its progress, keep its full log."""
    env = dict(os.environ, PYTHONUNBUFFERED='1', MMSELFEMD_DEMO_DATA=DATA)
    with open(log_file, 'w') as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        last = 0.0
        for line in proc.stdout:
            log.write(line)
            m = ITER_RE.search(line)
            if m and time.time() - last > 10:
                it, total = int(m.group(1)), int(m.group(2))
                loss = re.search(r' loss: ([0-9.]+)', line)
                progress.report(
                    stage, it / total,
                    f'iter {it}/{total}' +
                    (f' loss {loss.group(1)}' if loss else ''))
                last = time.time()
        if proc.wait() != 0:
            with open(log_file) as f:
                tail = f.readlines()[-40:]
            sys.stderr.write(''.join(tail))
            raise SystemExit(
                f'demo stage "{stage}" failed (exit {proc.returncode}); '
                f'command: {" ".join(cmd)}; full log: {log_file}')
    progress.finish(stage)


def load_scalars(work_dir: str) -> List[dict]:
    """Records of the newest run's ``vis_data/scalars.json``."""
    from mmselfemd.utils.scalars import load_scalars as load
    return load(work_dir)


def bbox_metrics(work_dir: str) -> dict:
    for rec in reversed(load_scalars(work_dir)):
        if 'coco/bbox_mAP' in rec:
            return {k: v for k, v in rec.items() if k.startswith('coco/')}
    raise RuntimeError(f'no coco/bbox_mAP logged in {work_dir}')


def plot_loss_curve(work_dir: str, out_file: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    recs = [r for r in load_scalars(work_dir) if 'loss' in r]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=120)
    for key in ('loss', 'loss_emd', 'loss_global'):
        pts = [(r['iter'], r[key]) for r in recs if key in r]
        if pts:
            ax.plot(*zip(*pts), label=key)
    ax.set_xlabel('iteration')
    ax.set_ylabel('loss')
    ax.set_title('Self-EMD pretraining on the demo scenes')
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_file)
    plt.close(fig)


def main(args: Optional[argparse.Namespace] = None) -> None:
    args = args or parse_args()
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    py = sys.executable
    progress = Progress()
    pre_iters = args.pretrain_iters or (4 if args.quick else None)
    seed_opts = ([] if args.seed is None else
                 [f'randomness.seed={args.seed}'])
    ft_iters = args.finetune_iters or (4 if args.quick else None)

    # 1. data
    global DATA
    data_root = osp.join(work_dir, 'data')
    DATA = data_root + '/'
    sys.path.insert(0, ROOT)
    from projects.demo.demo_scenes import make_demo_scenes
    from projects.transfer_study.study import schedule_options
    progress.report('data', 0.0, f'writing scenes to {data_root}')
    make_demo_scenes(data_root)
    progress.finish('data')

    # 2. pretraining
    pre_dir = osp.join(work_dir, 'pretrain')
    opts = list(seed_opts)
    if pre_iters:
        # the cosine schedule is rescaled with the run, so another length
        # keeps the config's warm-up share and decays to the new end
        opts += [*schedule_options(osp.join(ROOT, PRETRAIN_CFG), {},
                                   pre_iters),
                 f'default_hooks.checkpoint.interval={pre_iters}',
                 'default_hooks.logger.interval=1']
    run_tool(progress, 'pretrain', [
        py, 'tools/train.py', PRETRAIN_CFG, '--work-dir', pre_dir,
        *(['--cfg-options', *opts] if opts else [])
    ], osp.join(work_dir, 'pretrain.log'))
    with open(osp.join(pre_dir, 'last_checkpoint')) as f:
        ckpt = f.read().strip()

    # 3. backbone extraction
    backbone = osp.join(work_dir, 'selfemd_resnet18_backbone.pth')
    run_tool(progress, 'extract', [
        py, 'tools/model_converters/extract_backbone_weights.py', ckpt,
        backbone
    ], osp.join(work_dir, 'extract.log'))

    # 4. fine-tuning, Self-EMD init and random init
    results = {}
    for stage, cfg, init in (('finetune-selfemd', DET_CFG, backbone),
                             ('finetune-random', DET_SCRATCH_CFG, None)):
        ft_dir = osp.join(work_dir, stage)
        opts = list(seed_opts)
        if init:
            opts += [f'model.backbone.init_cfg.checkpoint={init}']
        if ft_iters:
            opts += [f'train_cfg.max_iters={ft_iters}',
                     f'train_cfg.val_interval={ft_iters}',
                     'default_hooks.logger.interval=1']
        run_tool(progress, stage, [
            py, 'tools/train.py', cfg, '--work-dir', ft_dir,
            *(['--cfg-options', *opts] if opts else [])
        ], osp.join(work_dir, f'{stage}.log'))
        results[stage] = bbox_metrics(ft_dir)

    # 5. pictures
    progress.report('pictures', 0.0)
    loss_png = osp.join(work_dir, 'pretrain_loss.png')
    plot_loss_curve(pre_dir, loss_png)
    transport_png = osp.join(work_dir, 'transport_plan.png')
    image = osp.join(data_root, 'val', 'val_00000.jpg')
    run_tool(progress, 'pictures', [
        py, 'tools/analysis_tools/visualize_transport.py',
        osp.join(pre_dir, osp.basename(PRETRAIN_CFG)), ckpt, image,
        '--out-file', transport_png
    ], osp.join(work_dir, 'visualize.log'))

    total = time.time() - progress.start
    summary = dict(
        seed=0 if args.seed is None else args.seed,
        pretrain_iters=pre_iters,
        finetune_iters=ft_iters,
        quick=bool(args.quick),
        seconds=round(total, 1),
        **{f'{name}_{k}': round(100 * results[stage][f'coco/bbox_{k}'], 2)
           for stage, name in (('finetune-selfemd', 'selfemd'),
                               ('finetune-random', 'random'))
           for k in ('mAP', 'mAP_50')})
    summary['margin'] = round(summary['selfemd_mAP'] -
                              summary['random_mAP'], 2)
    results_file = osp.join(work_dir, 'demo_results.json')
    with open(results_file, 'w') as f:
        json.dump(summary, f, indent=1)
    print('\n' + '=' * 64)
    print(f'Self-EMD demo finished in {progress.fmt(total)} '
          f'(outputs in {work_dir})')
    print(f'{"Faster R-CNN R18-FPN init":<28}{"bbox AP":>10}{"AP50":>10}')
    for stage, name in (('finetune-selfemd', 'Self-EMD pretrained'),
                        ('finetune-random', 'random init')):
        m = results[stage]
        print(f'{name:<28}{100 * m["coco/bbox_mAP"]:>10.1f}'
              f'{100 * m["coco/bbox_mAP_50"]:>10.1f}')
    print(f'loss curve:     {loss_png}')
    print(f'transport plan: {transport_png}')
    print(f'numbers:        {results_file}')
    if args.quick:
        print('(--quick: a few iterations per stage; AP is meaningless)')


if __name__ == '__main__':
    main()
