# Copyright (c) mmselfemd contributors. All rights reserved.
"""Our EMD solver against POT and geomloss: time and error.

Forward + backward of the EMD similarity of ``B`` pairs of node sets
(``N = M`` nodes of ``C`` channels), timed with :func:`time_calls` for:

- ``POT exact``: ``ot.emd2`` (network simplex, float64), looped over the
  batch, no gradient (its plan is the gradient w.r.t. the cost). On a GPU
  the copy of the costs to the host is included.
- ``POT sinkhorn``: ``ot.sinkhorn2(method='sinkhorn_log')``, looped, with a
  fixed number of iterations (``stopThr=0``). It is slow, so it is timed on
  the first ``slow_subset`` problems and the time scaled to ``B``.
- ``geomloss``: ``SamplesLoss('sinkhorn', p=2, blur=sqrt(ε), debias=False,
  backend='tensorized', scaling=s)`` on L2-normalised features, whose cost
  ``|x - y|^2 / 2`` is our ``1 - cos``. Its plan, for the error, is rebuilt
  from its dual potentials. Skipped when geomloss is not installed.
- ``ours``: :func:`mmselfemd.models.utils.emd_similarity` (envelope
  gradient unless the row says ``unrolled``).

The error is the mean relative error of ``Σ P ⊙ C`` (the transport cost of
the method's plan) against the exact EMD of ``ot.emd2``, in %.
"""
import inspect
import math
from typing import Dict, List

import numpy as np
import torch

from .time_calls import time_calls

try:
    import ot
except ImportError:  # pragma: no cover
    ot = None

try:
    from geomloss import SamplesLoss
except ImportError:  # pragma: no cover
    SamplesLoss = None

# Which of the optional solvers are installed (POT's exact EMD is the
# reference of every error).
HAS_POT = ot is not None
HAS_GEOMLOSS = SamplesLoss is not None
# mmselfemd.models is imported in the functions, not here: importing it
# imports mmpretrain and mmcv, which the GPU check first makes unimportable
# where pretraining must not need them (projects/gpu_check/block_modules.py).

# Settings of our solver in the main table: (label, eps, num_iters, grad,
# other emd_similarity arguments). None iterations: emd_similarity's
# default (the head's, mmselfemd.models.utils.EMD_DEFAULTS); the absolute
# rows name their eps_mode, as emd_similarity's default is the head's 'std'.
OURS = [
    ('ours, default (ε=0.1 × std of the centred cost)', 0.1, None,
     'envelope', dict(eps_mode='std')),
    ('ours, previous head default (ε=0.05)', 0.05, 30, 'envelope',
     dict(eps_mode='absolute')),
    ('ours, ε=0.05', 0.05, 50, 'envelope', dict(eps_mode='absolute')),
    ('ours, ε=0.02', 0.02, 50, 'envelope', dict(eps_mode='absolute')),
    ('ours, ε=0.01', 0.01, 100, 'envelope', dict(eps_mode='absolute')),
    ('ours, ε=0.05, unrolled', 0.05, 50, 'unrolled',
     dict(eps_mode='absolute')),
    ('ours, relative ε=0.05', 0.05, 50, 'envelope',
     dict(eps_mode='relative')),
    ("ours, solver='exact' (POT plan + host copies)", 0.05, None,
     'envelope', dict(solver='exact')),
]
# POT sinkhorn settings of the anchors: (eps, iterations).
POT_SINKHORN = [(0.05, 100), (0.01, 500)]
# geomloss settings: (eps, scaling); 0.5 is geomloss' default ε-scaling.
GEOMLOSS = [(0.05, 0.5), (0.01, 0.5), (0.01, 0.9)]


def default_num_iters() -> int:
    """``emd_similarity``'s default number of iterations.

    Returns:
        int: The default.
    """
    from mmselfemd.models.utils import emd_similarity
    return inspect.signature(emd_similarity).parameters['num_iters'].default


def rel_error(values: np.ndarray, exact: np.ndarray) -> float:
    """Mean relative error of ``values`` against ``exact``, in %.

    Args:
        values (np.ndarray): Transport costs of a method, one per problem.
        exact (np.ndarray): The exact EMDs.

    Returns:
        float: The error in %.
    """
    return float(np.mean(np.abs(values - exact) / exact) * 100)


def exact_emd(cost: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact EMD of each problem of a batch (POT's ``ot.emd2``, looped).

    Args:
        cost (np.ndarray): (B, N, M) costs.
        a (np.ndarray): (B, N) weights, each row summing to 1.
        b (np.ndarray): (B, M) weights, each row summing to 1.

    Returns:
        np.ndarray: (B,) EMDs.
    """
    return np.array([ot.emd2(a[i], b[i], cost[i]) for i in range(len(cost))])


def make_emd_problem(batch: int,
                     nodes: int,
                     channels: int,
                     device: str,
                     weights: str = 'uniform',
                     data: str = 'random',
                     seed: int = 0) -> Dict[str, object]:
    """A batch of EMD problems with their exact solution.

    Args:
        batch (int): Pairs B.
        nodes (int): Nodes per view N = M.
        channels (int): Channels C of the nodes.
        device (str): Device of the features.
        weights (str): ``'uniform'`` or ``'cross_reference'`` node
            weights. Defaults to ``'uniform'``.
        data (str): ``'random'``: independent Gaussian nodes;
            ``'matched'``: the nodes of y are a permutation of those of x
            plus noise (like two views). Defaults to ``'random'``.
        seed (int): Seed of the features. Defaults to 0.

    Returns:
        dict: ``x``, ``y`` (B, N, C) features, ``a``, ``b`` their weights,
        ``cost`` (B, N, N) ``1 - cos``, ``a_np``, ``b_np`` the weights as
        float64 arrays summing to 1, ``exact`` (B,) exact EMDs.
    """
    from mmselfemd.models.utils import (
        cosine_cost,
        cross_reference_weights,
        uniform_weights,
    )
    if ot is None:
        raise RuntimeError('POT is needed for the exact EMD: pip install POT')
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, nodes, channels, generator=g)
    if data == 'random':
        y = torch.randn(batch, nodes, channels, generator=g)
    else:
        perm = torch.randperm(nodes, generator=g)
        y = x[:, perm] + torch.randn(batch, nodes, channels, generator=g)
    x, y = x.to(device), y.to(device)
    if weights == 'uniform':
        a, b = uniform_weights(x), uniform_weights(y)
    else:
        a, b = cross_reference_weights(x, y), cross_reference_weights(y, x)
    cost = cosine_cost(x, y)
    a_np = a.double().cpu().numpy()
    b_np = b.double().cpu().numpy()
    a_np /= a_np.sum(1, keepdims=True)
    b_np /= b_np.sum(1, keepdims=True)
    exact = exact_emd(cost.double().cpu().numpy(), a_np, b_np)
    return dict(x=x, y=y, a=a, b=b, cost=cost, a_np=a_np, b_np=b_np,
                exact=exact)


def compare_emd_solvers(problem: Dict[str, object],
                        repeats: int = 5,
                        slow_subset: int = 32,
                        skip_pot_sinkhorn: bool = False) -> List[Dict]:
    """Time (forward + backward) and error of each solver on one batch.

    Each row's time is the minimum of ``repeats`` timed runs after one
    warm-up (:func:`time_calls`, on the problem's device).

    Args:
        problem (dict): The batch of problems (:func:`make_emd_problem`).
        repeats (int): Timed runs per row. Defaults to 5.
        slow_subset (int): Problems on which POT sinkhorn is timed (scaled
            to the batch). Defaults to 32.
        skip_pot_sinkhorn (bool): Leave POT sinkhorn out. Defaults to
            False.

    Returns:
        list[dict]: One row per method: ``method``, ``time`` (s),
        ``error`` (%), ``ratio`` (time relative to POT exact), ``nodes``;
        our rows also ``entropy_ratio`` and ``gain_ratio``.
    """
    from mmselfemd.models.utils import (
        cosine_cost,
        emd_similarity,
        transport_diagnostics,
    )
    x, y, a, b, cost = (problem['x'], problem['y'], problem['a'],
                        problem['b'], problem['cost'])
    a_np, b_np, exact = problem['a_np'], problem['b_np'], problem['exact']
    batch, nodes = x.shape[:2]
    device = x.device
    rows = []

    def timed(fn, n=repeats):
        return min(time_calls(fn, n, device))

    def pot_exact():
        c = cosine_cost(x, y).double().cpu().numpy()
        return exact_emd(c, a_np, b_np)

    t_exact = timed(pot_exact)
    rows.append(dict(method='POT exact (ot.emd2, looped, no grad)',
                     time=t_exact, error=0.0))

    if not skip_pot_sinkhorn:
        k = min(slow_subset, batch)
        for eps, iters in POT_SINKHORN:

            def pot_sinkhorn(k=k, eps=eps, iters=iters):
                c = cosine_cost(x[:k], y[:k]).double().cpu().numpy()
                return np.array([
                    ot.sinkhorn2(a_np[i], b_np[i], c[i], eps,
                                 method='sinkhorn_log', numItermax=iters,
                                 stopThr=0.0) for i in range(k)
                ])

            t = timed(pot_sinkhorn, 1) * batch / k
            err = rel_error(pot_sinkhorn(), exact[:k])
            rows.append(dict(
                method=f'POT sinkhorn_log ε={eps}, {iters} it, looped'
                f'{f" (timed on {k}, scaled)" if k < batch else ""}',
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

            t = timed(geom)
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

        t = timed(ours)
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
