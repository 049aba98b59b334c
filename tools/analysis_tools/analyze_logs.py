# Copyright (c) mmselfemd contributors. All rights reserved.
"""Plot training curves of one or more runs and time their iterations.

A run is mmengine's ``vis_data/scalars.json`` (one JSON record per logging
step), given as that file, as the run's timestamp folder or as the work
directory (its newest run is used). Like mmdet's ``analyze_logs.py``::

    # curves of any logged keys, one subplot per key, one line per run
    python tools/analysis_tools/analyze_logs.py plot_curve RUN [RUN ...] \
        --keys loss lr emd_entropy_ratio [--legend A B] \
        [--out curves.png] [--title T]

    # time per iteration (logged ``time`` and ``data_time``)
    python tools/analysis_tools/analyze_logs.py cal_train_time RUN [RUN ...]

``plot_curve`` writes the PNG and, beside it, ``<out>.json`` with the
plotted points (key -> run -> x, y). The x axis is the training iteration
(``iter``; ``step`` for records without it, e.g. validation metrics).
"""
import argparse
import json
import os
import os.path as osp
import statistics
from typing import Dict, List, Optional, Sequence

from mmselfemd.utils.scalars import find_scalars_file, load_scalars
from mmselfemd.utils.user_errors import add_debug_argument, run_cli

# Records of mmengine's LoggerHook that are bookkeeping, not curves.
_NOT_CURVES = ('iter', 'epoch', 'step')


def curve(records: Sequence[dict], key: str) -> tuple:
    """The ``(x, y)`` points of ``key``: x is ``iter``, else ``step``."""
    xs, ys = [], []
    for rec in records:
        if key in rec and isinstance(rec[key], (int, float)):
            xs.append(rec.get('iter', rec.get('step')))
            ys.append(rec[key])
    return xs, ys


def plot_curves(runs: Dict[str, List[dict]],
                keys: Sequence[str],
                title: Optional[str] = None):
    """Draw one subplot per key with one line per run.

    Args:
        runs (dict[str, list[dict]]): Legend name -> records of the run.
        keys (Sequence[str]): Logged keys, e.g. ``loss``, ``lr``,
            ``emd_entropy_ratio``.
        title (str, optional): Figure title.

    Returns:
        tuple: The matplotlib figure and the plotted points
        ``{key: {run: {'x': [...], 'y': [...]}}}``.

    Raises:
        KeyError: If a key is logged by none of the runs (the message lists
            the keys that are logged).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    points = {}
    for key in keys:
        points[key] = {}
        for name, records in runs.items():
            xs, ys = curve(records, key)
            if xs:
                points[key][name] = dict(x=xs, y=ys)
        if not points[key]:
            logged = sorted({
                k for records in runs.values() for rec in records
                for k, v in rec.items()
                if k not in _NOT_CURVES and isinstance(v, (int, float))
            })
            raise KeyError(f'key "{key}" is logged by none of the runs '
                           f'({", ".join(runs)}); logged keys: {logged}')
    fig, axes = plt.subplots(
        len(keys), 1, figsize=(7, 2.6 * len(keys) + 0.6), dpi=110,
        squeeze=False, sharex=True)
    for ax, key in zip(axes[:, 0], keys):
        for name, pts in points[key].items():
            ax.plot(pts['x'], pts['y'], label=name, lw=1.2,
                    marker='.' if len(pts['x']) < 30 else None)
        ax.set_title(key, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[-1, 0].set_xlabel('iteration')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig, points


def train_time(records: Sequence[dict],
               include_outliers: bool = False) -> Optional[dict]:
    """Statistics of the logged ``time`` and ``data_time`` (s/iter).

    mmengine logs each as a mean over the log processor's window. As in
    mmdet's ``cal_train_time``, the first record of each epoch (or of the
    run, for iteration-based runs) is an outlier (start-up, workers) and
    is left out unless ``include_outliers``.

    Args:
        records (Sequence[dict]): Records of one run.
        include_outliers (bool): Keep the first record. Defaults to False.

    Returns:
        dict | None: ``time`` and ``data_time`` each with ``mean``,
        ``median``, ``std``, ``n``; ``epochs`` (epoch -> mean time) for
        epoch-based runs. None if the run logged no ``time``.
    """
    # training records carry the iteration; validation records (which
    # log their own time) do not
    train = [r for r in records if 'time' in r and 'iter' in r]
    if not include_outliers:
        seen, kept = set(), []
        for rec in train:
            group = rec.get('epoch')
            if group not in seen:
                seen.add(group)
                continue
            kept.append(rec)
        if kept:
            train = kept
    if not train:
        return None
    stats = {}
    for key in ('time', 'data_time'):
        values = [r[key] for r in train if key in r]
        if values:
            stats[key] = dict(
                mean=statistics.fmean(values),
                median=statistics.median(values),
                std=statistics.pstdev(values),
                n=len(values))
    epochs = {}
    for rec in train:
        if 'epoch' in rec:
            epochs.setdefault(rec['epoch'], []).append(rec['time'])
    if epochs:
        stats['epochs'] = {e: statistics.fmean(v) for e, v in epochs.items()}
    return stats


def print_train_time(name: str, path: str, stats: Optional[dict]) -> None:
    """Print :func:`train_time`'s statistics of one run."""
    print(f'-----Analyze train time of {name} ({path})-----')
    if stats is None:
        print('no "time" logged (not a training run?)')
        return
    for key in ('time', 'data_time'):
        if key in stats:
            s = stats[key]
            print(f'{key:<9}: mean {s["mean"]:.4f} s/iter, median '
                  f'{s["median"]:.4f}, std {s["std"]:.4f} over {s["n"]} '
                  'records')
    epochs = stats.get('epochs')
    if epochs and len(epochs) > 1:
        slowest = max(epochs, key=epochs.get)
        fastest = min(epochs, key=epochs.get)
        print(f'slowest epoch {slowest}, average time is '
              f'{epochs[slowest]:.4f} s/iter')
        print(f'fastest epoch {fastest}, average time is '
              f'{epochs[fastest]:.4f} s/iter')
        print('time std over epochs is '
              f'{statistics.pstdev(epochs.values()):.4f}')


def parse_args(argv: Optional[list] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description='Analyze training logs '
                                     '(mmengine vis_data/scalars.json)')
    common = argparse.ArgumentParser(add_help=False)
    add_debug_argument(common)
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', parents=[common],
                          help='plot curves to a PNG')
    plot.add_argument('runs', nargs='+',
                      help='scalars.json files, run folders or work dirs')
    plot.add_argument('--keys', nargs='+', default=['loss'],
                      help='logged keys to plot, one subplot each')
    plot.add_argument('--legend', nargs='+',
                      help='one name per run (default: the run paths)')
    plot.add_argument('--title', help='figure title')
    plot.add_argument('--out', default='curves.png', help='output PNG')
    timing = sub.add_parser('cal_train_time', parents=[common],
                            help='time per iteration of each run')
    timing.add_argument('runs', nargs='+',
                        help='scalars.json files, run folders or work dirs')
    timing.add_argument('--include-outliers', action='store_true',
                        help='keep the first record of each epoch/run')
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    """Do the task of the parsed command line."""
    paths = [find_scalars_file(r) for r in args.runs]
    if args.task == 'cal_train_time':
        for run_arg, path in zip(args.runs, paths):
            stats = train_time(load_scalars(path), args.include_outliers)
            print_train_time(run_arg, path, stats)
        return
    legend = args.legend or args.runs
    if len(legend) != len(paths):
        raise ValueError(f'--legend has {len(legend)} names for '
                         f'{len(paths)} runs; give one name per run')
    if len(set(legend)) != len(legend):
        raise ValueError(f'--legend names must differ, got {legend}')
    runs = {name: load_scalars(p) for name, p in zip(legend, paths)}
    fig, points = plot_curves(runs, args.keys, args.title)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out)
    import matplotlib.pyplot as plt
    plt.close(fig)
    sidecar = osp.splitext(args.out)[0] + '.json'
    with open(sidecar, 'w') as f:
        json.dump(points, f)
    for key in args.keys:
        for name in runs:
            if name not in points[key]:
                print(f'note: run "{name}" did not log "{key}"')
    print(f'curves of {", ".join(args.keys)} written to {args.out} '
          f'(points in {sidecar})')


def main(argv: Optional[list] = None) -> None:
    """Entry point; errors in the input end with one paragraph, exit 1."""
    args = parse_args(argv)
    run_cli(lambda: run(args), 'tools/analysis_tools/analyze_logs.py',
            args.debug)


if __name__ == '__main__':
    main()
