# Copyright (c) mmselfemd contributors. All rights reserved.
"""Benchmark the EMD solver of mmselfemd against POT and geomloss.

Forward + backward of the EMD similarity of ``B`` pairs of node sets
(``N = M`` nodes of ``C`` channels, random Gaussian features), timed for:

- ``POT exact``: ``ot.emd2`` (network simplex, float64), looped over the
  batch, no gradient (its plan is the gradient w.r.t. the cost). On a GPU
  the copy of the costs to the host is included.
- ``POT sinkhorn``: ``ot.sinkhorn2(method='sinkhorn_log')``, looped, with a
  fixed number of iterations (``stopThr=0``). It is slow, so it is timed on
  the first ``--slow-subset`` problems and the time scaled to ``B`` (the
  table says so).
- ``geomloss``: ``SamplesLoss('sinkhorn', p=2, blur=sqrt(ε), debias=False,
  backend='tensorized', scaling=s)`` on L2-normalised features, whose cost
  ``|x - y|^2 / 2`` is our ``1 - cos``; ε-scaling with geomloss' default
  ``s = 0.5`` and with ``s = 0.9`` (more iterations, needed for a 1 %
  error at ε = 0.01). Its plan, for the error column, is rebuilt from its
  dual potentials. Skipped with a note when geomloss is not installed.
- ``ours``: :func:`mmselfemd.models.utils.emd_similarity` (envelope
  gradient unless the row says ``unrolled``).

The measurements are library code
(:func:`projects.benchmarks.compare_emd_solvers` and
:func:`projects.benchmarks.sweep_emd_solver`); this script prints them.
The error column is the mean relative error of ``Σ P ⊙ C`` (the transport
cost of the method's plan) against the exact EMD of ``ot.emd2``, in %.
``ratio`` is the time relative to POT exact (< 1 is faster).

``--sweep`` prints instead the accuracy/time trade-off of our solver over
ε and iteration counts, which is how the defaults were chosen.

Example::

    OMP_NUM_THREADS=2 python projects/benchmarks/tools/benchmark_emd.py \\
        --threads 2 --nodes 49 196
"""
import argparse
import math
import os
import os.path as osp
import sys

import torch

# the repository root, which holds projects/ (run from anywhere)
REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from projects.benchmarks import (  # noqa: E402
    HAS_GEOMLOSS,
    HAS_POT,
    compare_emd_solvers,
    make_emd_problem,
    sweep_emd_solver,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='device of our solver and geomloss (default: cuda if any)')
    parser.add_argument('--batch', type=int, default=256, help='pairs B')
    parser.add_argument(
        '--nodes', type=int, nargs='+', default=[49, 196],
        help='nodes per view N = M (49 = 7x7, 196 = 14x14)')
    parser.add_argument('--channels', type=int, default=256)
    parser.add_argument(
        '--repeats', type=int, default=5,
        help='timed repeats after one warm-up run; the minimum is shown')
    parser.add_argument(
        '--threads', type=int, default=None,
        help='torch.set_num_threads (default: leave as is)')
    parser.add_argument(
        '--weights', choices=['uniform', 'cross_reference'],
        default='uniform', help='node weights')
    parser.add_argument(
        '--data', choices=['random', 'matched'], default='random',
        help='random: independent Gaussian nodes; matched: the nodes of '
        'y are a permutation of those of x plus noise (like two views)')
    parser.add_argument(
        '--slow-subset', type=int, default=32,
        help='problems on which POT sinkhorn is timed (scaled to B)')
    parser.add_argument('--skip-pot-sinkhorn', action='store_true')
    parser.add_argument(
        '--sweep', action='store_true',
        help='print the ε / iterations sweep of our solver instead')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def fmt_time(t: float) -> str:
    if math.isnan(t):
        return '-'
    return f'{t * 1e3:.1f} ms' if t < 1 else f'{t:.2f} s'


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not HAS_POT:
        raise SystemExit('POT is needed for the exact EMD: pip install POT')
    import ot
    print(f'load average (1 min) {os.getloadavg()[0]:.2f}; '
          f'device={args.device} threads={torch.get_num_threads()} '
          f'B={args.batch} C={args.channels} weights={args.weights} '
          f'data={args.data} repeats={args.repeats} torch={torch.__version__}'
          f' POT={ot.__version__}')

    def problem(nodes):
        return make_emd_problem(args.batch, nodes, args.channels,
                                args.device, args.weights, args.data,
                                args.seed)

    if args.sweep:
        print('| N | ε | iters at ε | ε-scaling | time (fwd+bwd) | error vs '
              'exact | error of converged ε-plan | gap to converged | '
              'column marginal L1 |')
        print('|---|---|---|---|---|---|---|---|---|')
        for nodes in args.nodes:
            for r in sweep_emd_solver(problem(nodes), args.repeats):
                print(f"| {r['nodes']} | {r['eps']} | {r['iters']} | "
                      f"{r['anneal']} | {fmt_time(r['time'])} | "
                      f"{r['error']:.2f} % | {r['conv_error']:.2f} % | "
                      f"{r['gap']:.3f} % | {r['marginal']:.1e} |")
        return
    if not HAS_GEOMLOSS:
        print('note: geomloss is not installed; its rows are skipped '
              '(pip install geomloss)')
    print('| N | method | time (fwd+bwd) | ratio to POT exact | error vs '
          'exact EMD | plan entropy ratio | matching gain / exact |')
    print('|---|---|---|---|---|---|---|')
    for nodes in args.nodes:
        for r in compare_emd_solvers(problem(nodes), args.repeats,
                                     args.slow_subset,
                                     args.skip_pot_sinkhorn):
            err = '-' if math.isnan(r['error']) else f"{r['error']:.2f} %"
            ratio = '-' if math.isnan(r['ratio']) else f"{r['ratio']:.2f}"
            ent = f"{r['entropy_ratio']:.3f}" if 'entropy_ratio' in r \
                else '-'
            gain = f"{r['gain_ratio']:.2f}" if 'gain_ratio' in r else '-'
            print(f"| {r['nodes']} | {r['method']} | {fmt_time(r['time'])} "
                  f'| {ratio} | {err} | {ent} | {gain} |')


if __name__ == '__main__':
    main()
