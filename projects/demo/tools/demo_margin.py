# Copyright (c) mmselfemd contributors. All rights reserved.
"""Summarise the demo's margin over random init across seeds.

One demo run (``tools/run_demo.py --seed S``) pretrains with seed ``S`` and
fine-tunes both inits with seed ``S``; its ``demo_results.json`` holds the
AP of both. The margin (Self-EMD AP - random-init AP) of one run mixes
pretraining and fine-tuning noise, so a single run cannot say whether the
demo reliably clears a bar. Over several seeds each run is one unit, and
the margins are tested with a paired t (:func:`~projects.transfer_study.
study.stats.paired`)::

    for s in 0 1 2 3; do
        python tools/run_demo.py --seed $s \
            --work-dir work_dirs/demo_seeds/seed$s
    done
    python projects/demo/tools/demo_margin.py work_dirs/demo_seeds/seed* \
        [--bar 10] [--out-json margin.json] [--out-png margin.png]

Prints one row per seed, then the mean margin with its 95 % confidence
interval and the one-sided p-values of "the mean margin is above the bar"
and "below the bar". The PNG shows both inits' AP per seed (lines join a
seed's pair) and the margins with their mean, interval and the bar, on
axes that start at 0.
"""
import argparse
import json
import os.path as osp
import sys
from typing import List, Optional, Sequence

from mmselfemd.utils.user_errors import add_debug_argument, run_cli

# the repository root, which holds projects/ (run from anywhere)
REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from projects.transfer_study.study.stats import paired  # noqa: E402

RESULTS = 'demo_results.json'
KEYS = ('seed', 'selfemd_mAP', 'random_mAP')


def load_runs(dirs: Sequence[str]) -> List[dict]:
    """``demo_results.json`` of each demo work directory, sorted by seed.

    Raises:
        FileNotFoundError: A directory without the file (an unfinished
            run).
        KeyError: A file without a needed key.
        ValueError: A ``--quick`` run (its AP means nothing) or two runs
            with the same seed.
    """
    runs, seen = [], {}
    for d in dirs:
        path = d if d.endswith('.json') else osp.join(d, RESULTS)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{path} not found: not a finished demo run (tools/'
                f'run_demo.py writes {RESULTS} at its end)')
        with open(path) as f:
            rec = json.load(f)
        for key in KEYS:
            if key not in rec:
                raise KeyError(f'{path} has no "{key}" (expected the keys '
                               f'{", ".join(KEYS)})')
        if rec.get('quick'):
            raise ValueError(f'{path} is a --quick run: a few iterations '
                             'per stage, its AP means nothing')
        if rec['seed'] in seen:
            raise ValueError(f'seed {rec["seed"]} appears twice: {path} and '
                             f'{seen[rec["seed"]]}')
        seen[rec['seed']] = path
        runs.append(dict(rec, path=path))
    return sorted(runs, key=lambda r: r['seed'])


def summarise(runs: Sequence[dict], bar: float) -> dict:
    """Per-seed margins and the paired test of their mean."""
    res = paired([r['selfemd_mAP'] for r in runs],
                 [r['random_mAP'] for r in runs], bar=bar)
    res.update(
        bar=bar,
        seeds=[r['seed'] for r in runs],
        selfemd=[r['selfemd_mAP'] for r in runs],
        random=[r['random_mAP'] for r in runs],
        at_or_above_bar=sum(m >= bar for m in res['diffs']))
    return res


def plot(res: dict, out_file: str) -> None:
    """Paired AP per seed (left) and the margins with mean and CI."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.8), dpi=120)
    for seed, a, b in zip(res['seeds'], res['selfemd'], res['random']):
        ax1.plot([0, 1], [b, a], marker='o', label=f'seed {seed}')
    ax1.set_xticks([0, 1], ['random init', 'Self-EMD pretrained'])
    ax1.set_xlim(-0.3, 1.3)
    ax1.set_ylim(0, max(res['selfemd'] + res['random']) * 1.15)
    ax1.set_ylabel('bbox AP (60 held-out scenes)')
    ax1.set_title(f'Faster R-CNN R18-FPN, n = {res["n"]} seeds')
    ax1.legend(fontsize=7, ncol=2)
    ax1.grid(alpha=0.3)
    xs = list(range(res['n']))
    ax2.bar(xs, res['diffs'], color='tab:blue', alpha=0.6)
    ax2.set_xticks(xs, [str(s) for s in res['seeds']])
    lo, hi = res['ci']
    mx = res['n'] + 0.2
    ax2.errorbar([mx], [res['mean']], yerr=[[res['mean'] - lo],
                                             [hi - res['mean']]],
                 fmt='o', color='black', capsize=5,
                 label=f'mean {res["mean"]:+.1f}, 95 % CI '
                 f'[{lo:+.1f}, {hi:+.1f}]')
    ax2.axhline(res['bar'], color='tab:red', ls='--',
                label=f'bar {res["bar"]:g} AP')
    ax2.set_xlim(-0.7, mx + 0.7)
    ax2.set_ylim(min(0, lo * 1.1), max(hi, res['bar'], *res['diffs']) * 1.15)
    ax2.set_xlabel('seed (the mean at the right)')
    ax2.set_ylabel('Self-EMD AP - random-init AP')
    ax2.set_title('margin over random init')
    ax2.legend(fontsize=7, loc='lower right')
    ax2.grid(alpha=0.3, axis='y')
    fig.tight_layout()
    fig.savefig(out_file)
    plt.close(fig)


def parse_args(argv: Optional[list] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('runs', nargs='+',
                        help=f'demo work directories (or their {RESULTS})')
    parser.add_argument('--bar', type=float, default=10.0,
                        help='the margin to test against (AP; default 10)')
    parser.add_argument('--out-json', help='write the summary here')
    parser.add_argument('--out-png', help='write the picture here')
    add_debug_argument(parser)
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict:
    runs = load_runs(args.runs)
    if len(runs) < 2:
        raise ValueError(f'need at least 2 seeds, got {len(runs)}')
    res = summarise(runs, args.bar)
    print(f'{"seed":>5}{"Self-EMD AP":>13}{"random AP":>11}{"margin":>9}')
    for s, a, b, d in zip(res['seeds'], res['selfemd'], res['random'],
                          res['diffs']):
        print(f'{s:>5}{a:>13.1f}{b:>11.1f}{d:>+9.1f}')
    lo, hi = res['ci']
    print(f'mean margin {res["mean"]:+.2f} AP (sd {res["sd"]:.2f} over '
          f'n = {res["n"]} seeds), 95 % CI [{lo:+.2f}, {hi:+.2f}]; '
          f'{res["at_or_above_bar"]} of {res["n"]} seeds >= {args.bar:g}')
    print(f'one-sided p: mean > {args.bar:g}: {res["p_above"]:.3f}; '
          f'mean < {args.bar:g}: {res["p_below"]:.3f}')
    if args.out_json:
        with open(args.out_json, 'w') as f:
            json.dump(res, f, indent=1)
        print(f'summary: {args.out_json}')
    if args.out_png:
        plot(res, args.out_png)
        print(f'picture: {args.out_png}')
    return res


def main(argv: Optional[list] = None) -> None:
    """Entry point; errors in the input end with one paragraph, exit 1."""
    args = parse_args(argv)
    run_cli(lambda: run(args), 'projects/demo/tools/demo_margin.py',
            args.debug)


if __name__ == '__main__':
    main()
