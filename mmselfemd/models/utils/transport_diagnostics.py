# Copyright (c) mmselfemd contributors. All rights reserved.
"""Diagnostics of transport plans: how much matching a plan does."""
import math
from typing import Dict

import torch

from .exact_emd import exact_transport_plan

# 0 log 0 = 0: entries below this count as zero mass.
_TINY = 1e-30


def _entropy(p: torch.Tensor, dims) -> torch.Tensor:
    """Shannon entropy ``-Σ p log p`` over ``dims`` (0 log 0 = 0)."""
    return -(p * p.clamp_min(_TINY).log()).sum(dim=dims)


def transport_diagnostics(plan: torch.Tensor,
                          cos: torch.Tensor,
                          a: torch.Tensor,
                          b: torch.Tensor,
                          exact: bool = False) -> Dict[str, torch.Tensor]:
    """Per-problem diagnostics of transport plans.

    How far each plan is from the *independent coupling* ``a bᵀ``, the plan
    that matches nothing:

    - ``entropy_ratio = H(P) / (H(a) + H(b))`` (Shannon entropies): 1 for
      ``a bᵀ``, 0.5 for a one-to-one matching of uniform nodes; 1 when
      ``H(a) + H(b) = 0`` (one node on each side).
    - ``matching_gain = Σ P cos - aᵀ cos b``: how much more similar the
      views look once their locations are matched than pooled.
    - ``marginal_err = Σ_i |(P 1)_i - a_i| + Σ_j |(Pᵀ 1)_j - b_j|``: the
      L1 mass the plan misplaces.
    - with ``exact=True``, ``exact_matching_gain``: the matching gain of
      the exact plan of the same problems (:func:`exact_transport_plan`),
      the most any plan can gain.

    How to read them: ``docs/en/advanced_guides/emd.md``.

    Args:
        plan (torch.Tensor): (B, N, M) transport plans.
        cos (torch.Tensor): (B, N, M) cosine similarities of the nodes.
        a (torch.Tensor): (B, N) row marginals.
        b (torch.Tensor): (B, M) column marginals.
        exact (bool): Also compute ``exact_matching_gain``. Defaults to
            False.

    Returns:
        dict[str, torch.Tensor]: ``entropy_ratio``, ``matching_gain`` and
        ``marginal_err`` (and ``exact_matching_gain``), each (B,),
        computed without gradient.
    """
    with torch.no_grad():
        plan = plan.detach()
        cos = cos.detach().to(plan.dtype)
        a = a.detach().to(plan.dtype)
        b = b.detach().to(plan.dtype)
        h_ind = _entropy(a, 1) + _entropy(b, 1)
        h_plan = _entropy(plan, (1, 2))
        ratio = torch.where(h_ind > 1e-12, h_plan / h_ind.clamp_min(1e-12),
                            torch.ones_like(h_ind))
        s_emd = (plan * cos).sum(dim=(1, 2))
        s_ind = torch.einsum('bn,bnm,bm->b', a, cos, b)
        err = ((plan.sum(2) - a).abs().sum(1) +
               (plan.sum(1) - b).abs().sum(1))
        out = dict(
            entropy_ratio=ratio,
            matching_gain=s_emd - s_ind,
            marginal_err=err)
        if exact:
            ref = exact_transport_plan(1 - cos, a, b).to(plan.dtype)
            out['exact_matching_gain'] = (ref * cos).sum(dim=(1, 2)) - s_ind
    return out


def exact_entropy_cap(n: int, m: int) -> float:
    """Upper bound of an exact plan's entropy ratio for uniform marginals.

    A basic optimal plan (a vertex of the transport polytope, which the
    network simplex returns) has at most ``n + m - 1`` non-zero entries, so
    its entropy is at most ``log(n + m - 1)``; the independent coupling of
    uniform marginals has ``log(n m)``.
    """
    return math.log(n + m - 1) / math.log(n * m)
