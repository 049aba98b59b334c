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

The error column is the mean relative error of ``Σ P ⊙ C`` (the transport
cost of the method's plan) against the exact EMD of ``ot.emd2``, in %.
``ratio`` is the time relative to POT exact (< 1 is faster).

``--sweep`` prints instead the accuracy/time trade-off of our solver over
ε and iteration counts, which is how the defaults were chosen.

Example::

    OMP_NUM_THREADS=2 python tools/analysis_tools/benchmark_emd.py \\
        --threads 2 --nodes 49 196
"""
import argparse
import inspect
import math
import os
import time
from typing import Callable, Dict, List

import numpy as np
import torch
from benchmark_utils import cuda_event_seconds

from mmselfemd.models.utils import (
    cosine_cost,
    cross_reference_weights,
    emd_similarity,
    sinkhorn,
    transport_diagnostics,
    uniform_weights,
)

try:
    import ot
except ImportError:  # pragma: no cover
    ot = None

try:
    from geomloss import SamplesLoss
except ImportError:  # pragma: no cover
    SamplesLoss = None

# Settings of our solver in the main table: (label, eps, num_iters, grad,
# other emd_similarity arguments).
OURS = [
    ('ours, head default (ε=0.1 × std of the centred cost)', 0.1, 30,
     'envelope', dict(eps_mode='std')),
    ('ours, previous head default (ε=0.05)', 0.05, 30, 'envelope',
     {}),
    ('ours, default (ε=0.05)', 0.05, None, 'envelope', {}),
    ('ours, ε=0.02', 0.02, 50, 'envelope', {}),
    ('ours, ε=0.01', 0.01, 100, 'envelope', {}),
    ('ours, ε=0.05, unrolled', 0.05, None, 'unrolled', {}),
    ('ours, relative ε=0.05', 0.05, None, 'envelope',
     dict(eps_mode='relative')),
    ("ours, solver='exact' (POT plan + host copies)", 0.05, None,
     'envelope', dict(solver='exact')),
]
# POT sinkhorn settings of the anchors: (eps, iterations).
POT_SINKHORN = [(0.05, 100), (0.01, 500)]
# geomloss settings: (eps, scaling); 0.5 is geomloss' default ε-scaling.
GEOMLOSS = [(0.05, 0.5), (0.01, 0.5), (0.01, 0.9)]


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


def make_data(batch: int, nodes: int, channels: int, kind: str,
              seed: int, device: str):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, nodes, channels, generator=g)
    if kind == 'random':
        y = torch.randn(batch, nodes, channels, generator=g)
    else:
        perm = torch.randperm(nodes, generator=g)
        y = x[:, perm] + torch.randn(batch, nodes, channels, generator=g)
    return x.to(device), y.to(device)


def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def timeit(fn: Callable[[], object], repeats: int, device: str) -> float:
    """Best (minimum) wall time in seconds of ``fn`` after one warm-up.

    The minimum, as ``timeit`` recommends: on a shared machine the other
    statistics measure the neighbours' load more than the code. On CUDA
    each run is timed with CUDA events (``cuda_event_seconds``: host work
    inside ``fn``, such as POT's solver and the copies to the host, is
    counted).
    """
    fn()
    sync(device)
    times = []
    for _ in range(repeats):
        if device.startswith('cuda'):
            times.append(cuda_event_seconds(fn))
            continue
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return min(times)


def weights_of(x: torch.Tensor, y: torch.Tensor, kind: str):
    if kind == 'uniform':
        return uniform_weights(x), uniform_weights(y)
    return cross_reference_weights(x, y), cross_reference_weights(y, x)


def rel_error(values: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean(np.abs(values - exact) / exact) * 100)


def exact_emd(cost: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([ot.emd2(a[i], b[i], cost[i]) for i in range(len(cost))])


def default_num_iters() -> int:
    return inspect.signature(emd_similarity).parameters['num_iters'].default


def bench_nodes(args, nodes: int) -> List[Dict]:
    device = args.device
    x, y = make_data(args.batch, nodes, args.channels, args.data, args.seed,
                     device)
    a, b = weights_of(x, y, args.weights)
    cost = cosine_cost(x, y)
    cost_np = cost.double().cpu().numpy()
    a_np = a.double().cpu().numpy()
    b_np = b.double().cpu().numpy()
    a_np /= a_np.sum(1, keepdims=True)
    b_np /= b_np.sum(1, keepdims=True)
    exact = exact_emd(cost_np, a_np, b_np)
    rows = []

    def pot_exact():
        c = cosine_cost(x, y).double().cpu().numpy()
        return exact_emd(c, a_np, b_np)

    t_exact = timeit(pot_exact, args.repeats, device)
    rows.append(dict(method='POT exact (ot.emd2, looped, no grad)',
                     time=t_exact, error=0.0))

    if not args.skip_pot_sinkhorn:
        k = min(args.slow_subset, args.batch)
        for eps, iters in POT_SINKHORN:

            def pot_sinkhorn(k=k, eps=eps, iters=iters):
                c = cosine_cost(x[:k], y[:k]).double().cpu().numpy()
                return np.array([
                    ot.sinkhorn2(a_np[i], b_np[i], c[i], eps,
                                 method='sinkhorn_log', numItermax=iters,
                                 stopThr=0.0) for i in range(k)
                ])

            t = timeit(pot_sinkhorn, 1, device) * args.batch / k
            err = rel_error(pot_sinkhorn(), exact[:k])
            rows.append(dict(
                method=f'POT sinkhorn_log ε={eps}, {iters} it, looped'
                f'{f" (timed on {k}, scaled)" if k < args.batch else ""}',
                time=t, error=err))

    if SamplesLoss is None:
        rows.append(dict(method='geomloss: not installed, skipped',
                         time=float('nan'), error=float('nan')))
    else:
        for eps, scaling in GEOMLOSS:
            blur = math.sqrt(eps)
            loss_fn = SamplesLoss('sinkhorn', p=2, blur=blur, debias=False,
                                  backend='tensorized', scaling=scaling)
            pot_fn = SamplesLoss('sinkhorn', p=2, blur=blur, debias=False,
                                 backend='tensorized', potentials=True,
                                 scaling=scaling)

            def geom(loss_fn=loss_fn):
                xg = x.detach().requires_grad_()
                xn = torch.nn.functional.normalize(xg, dim=-1)
                yn = torch.nn.functional.normalize(y, dim=-1)
                loss_fn(a, xn, b, yn).sum().backward()

            t = timeit(geom, args.repeats, device)
            xn = torch.nn.functional.normalize(x, dim=-1)
            yn = torch.nn.functional.normalize(y, dim=-1)
            f, g = pot_fn(a, xn, b, yn)
            plan = a[:, :, None] * b[:, None, :] * torch.exp(
                (f[:, :, None] + g[:, None, :] - cost) / eps)
            err = rel_error((plan * cost).sum((1, 2)).double().cpu().numpy(),
                            exact)
            rows.append(dict(method=f'geomloss tensorized ε={eps}, '
                             f'scaling={scaling}',
                             time=t, error=err))

    for label, eps, iters, grad, extra in OURS:
        iters = iters or default_num_iters()
        kwargs = dict(eps=eps, num_iters=iters, **extra)

        def ours(kwargs=kwargs, grad=grad):
            xg = x.detach().requires_grad_()
            emd_similarity(xg, y, weights=(a, b), grad=grad,
                           **kwargs).sum().backward()

        t = timeit(ours, args.repeats, device)
        with torch.no_grad():
            res = emd_similarity(x, y, weights=(a, b), return_plan=True,
                                 **kwargs)
            diag = transport_diagnostics(res.plan, res.cos, res.a, res.b,
                                         exact=True)
        err = rel_error(
            (res.plan * cost).sum((1, 2)).double().cpu().numpy(), exact)
        name = label if extra.get('solver') == 'exact' else \
            f'{label}, {iters} it'
        rows.append(dict(
            method=name, time=t, error=err,
            entropy_ratio=diag['entropy_ratio'].mean().item(),
            gain_ratio=(diag['matching_gain'].mean() /
                        diag['exact_matching_gain'].mean()).item()))

    for row in rows:
        row['ratio'] = row['time'] / t_exact
        row['nodes'] = nodes
    return rows


def sweep(args, nodes: int) -> List[Dict]:
    """Accuracy and time of our solver over ε and iteration counts."""
    device = args.device
    x, y = make_data(args.batch, nodes, args.channels, args.data, args.seed,
                     device)
    a, b = weights_of(x, y, args.weights)
    cost = cosine_cost(x, y)
    a_np = a.double().cpu().numpy()
    b_np = b.double().cpu().numpy()
    exact = exact_emd(cost.double().cpu().numpy(), a_np / a_np.sum(
        1, keepdims=True), b_np / b_np.sum(1, keepdims=True))
    rows = []
    for eps in (0.1, 0.05, 0.02, 0.01):
        # The ε-regularised optimum: double precision, run to convergence.
        ref = sinkhorn(cost.double(), a.double(), b.double(), eps=eps,
                       num_iters=20000, tol=1e-7)
        ref_val = (ref * cost.double()).sum((1, 2)).cpu().numpy()
        for iters in (5, 10, 20, 30, 50, 100, 200):
            for eps_start in (1.0, None):
                kwargs = dict(eps=eps, num_iters=iters, eps_start=eps_start)

                def ours(kwargs=kwargs):
                    xg = x.detach().requires_grad_()
                    emd_similarity(xg, y, weights=(a, b),
                                   **kwargs).sum().backward()

                t = timeit(ours, args.repeats, device)
                plan = sinkhorn(cost, a, b, **kwargs)
                val = (plan * cost).sum((1, 2)).double().cpu().numpy()
                marg = (plan.sum(1) - b).abs().sum(1).max().item()
                rows.append(dict(
                    nodes=nodes, eps=eps, iters=iters,
                    anneal='yes' if eps_start else 'no', time=t,
                    error=rel_error(val, exact),
                    gap=float(np.mean(np.abs(val - ref_val) / exact) * 100),
                    conv_error=rel_error(ref_val, exact), marginal=marg))
    return rows


def fmt_time(t: float) -> str:
    if math.isnan(t):
        return '-'
    return f'{t * 1e3:.1f} ms' if t < 1 else f'{t:.2f} s'


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if ot is None:
        raise SystemExit('POT is needed for the exact EMD: pip install POT')
    print(f'load average (1 min) {os.getloadavg()[0]:.2f}; '
          f'device={args.device} threads={torch.get_num_threads()} '
          f'B={args.batch} C={args.channels} weights={args.weights} '
          f'data={args.data} repeats={args.repeats} torch={torch.__version__}'
          f' POT={ot.__version__}')
    if args.sweep:
        print('| N | ε | iters at ε | ε-scaling | time (fwd+bwd) | error vs '
              'exact | error of converged ε-plan | gap to converged | '
              'column marginal L1 |')
        print('|---|---|---|---|---|---|---|---|---|')
        for nodes in args.nodes:
            for r in sweep(args, nodes):
                print(f"| {r['nodes']} | {r['eps']} | {r['iters']} | "
                      f"{r['anneal']} | {fmt_time(r['time'])} | "
                      f"{r['error']:.2f} % | {r['conv_error']:.2f} % | "
                      f"{r['gap']:.3f} % | {r['marginal']:.1e} |")
        return
    if SamplesLoss is None:
        print('note: geomloss is not installed; its rows are skipped '
              '(pip install geomloss)')
    print('| N | method | time (fwd+bwd) | ratio to POT exact | error vs '
          'exact EMD | plan entropy ratio | matching gain / exact |')
    print('|---|---|---|---|---|---|---|')
    for nodes in args.nodes:
        for r in bench_nodes(args, nodes):
            err = '-' if math.isnan(r['error']) else f"{r['error']:.2f} %"
            ratio = '-' if math.isnan(r['ratio']) else f"{r['ratio']:.2f}"
            ent = f"{r['entropy_ratio']:.3f}" if 'entropy_ratio' in r \
                else '-'
            gain = f"{r['gain_ratio']:.2f}" if 'gain_ratio' in r else '-'
            print(f"| {r['nodes']} | {r['method']} | {fmt_time(r['time'])} "
                  f'| {ratio} | {err} | {ent} | {gain} |')


if __name__ == '__main__':
    main()
