# Copyright (c) mmselfemd contributors. All rights reserved.
"""Accuracy and time of our EMD solver over ε and iteration counts."""
from typing import Dict, List

import numpy as np

from .compare_emd_solvers import rel_error
from .time_calls import time_calls


def sweep_emd_solver(problem: Dict[str, object],
                     repeats: int = 5) -> List[Dict]:
    """Our solver over ε, iterations and ε-scaling; how the defaults were
    chosen.

    For each ε the ε-regularised optimum (float64, run to convergence) is
    the reference of the ``gap`` column; times are the minimum of
    ``repeats`` forward + backward runs after one warm-up.

    Args:
        problem (dict): The batch of problems (:func:`make_emd_problem`).
        repeats (int): Timed runs per row. Defaults to 5.

    Returns:
        list[dict]: Rows with ``nodes``, ``eps``, ``iters``, ``anneal``
        (ε-scaling), ``time`` (s), ``error`` (vs the exact EMD, %),
        ``gap`` (to the converged ε-plan, %), ``conv_error`` (of the
        converged ε-plan, %) and ``marginal`` (column marginal L1 error).
    """
    from mmselfemd.models.utils import emd_similarity, sinkhorn
    x, y, a, b, cost, exact = (problem['x'], problem['y'], problem['a'],
                               problem['b'], problem['cost'],
                               problem['exact'])
    nodes, device = x.shape[1], x.device
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
                                   eps_mode='absolute',
                                   **kwargs).sum().backward()

                t = min(time_calls(ours, repeats, device))
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
