# Copyright (c) mmselfemd contributors. All rights reserved.
"""Diagnostics of transport plans: how much matching a plan does."""
from typing import Dict

import torch

# 0 log 0 = 0: entries below this count as zero mass.
_TINY = 1e-30


def _entropy(p: torch.Tensor, dims) -> torch.Tensor:
    """Shannon entropy ``-Σ p log p`` over ``dims`` (0 log 0 = 0)."""
    return -(p * p.clamp_min(_TINY).log()).sum(dim=dims)


def transport_diagnostics(plan: torch.Tensor, cos: torch.Tensor,
                          a: torch.Tensor,
                          b: torch.Tensor) -> Dict[str, torch.Tensor]:
    """Per-problem diagnostics of transport plans.

    The reference is the *independent coupling* ``a bᵀ``: the plan that
    matches every node with every node in proportion to their weights, i.e.
    no matching at all (it is also the entropic plan as ε → ∞, and the
    plan of a uniform cost). The diagnostics say how far a plan is from it:

    - ``entropy_ratio = H(P) / H(a bᵀ)`` with the Shannon entropy
      ``H(P) = -Σ P log P`` and ``H(a bᵀ) = H(a) + H(b)``. 1 means no
      matching; a one-to-one matching of N uniform nodes gives 0.5. (When
      ``H(a) + H(b) = 0``, i.e. one node on each side, it is 1.)
    - ``matching_gain = S_EMD - S_independent`` with
      ``S_EMD = Σ P_ij cos_ij`` and ``S_independent = aᵀ cos b``: how much
      more similar the two views look once their locations are matched
      than when every location is compared with every other one (the
      pooled comparison). 0 for a uniform cost; large for two maps whose
      nodes are a permutation of each other.
    - ``marginal_err = Σ_i |(P 1)_i - a_i| + Σ_j |(Pᵀ 1)_j - b_j|``: the
      L1 mass the plan misplaces against its marginals (the solver's
      convergence at its last iteration).

    Args:
        plan (torch.Tensor): (B, N, M) transport plans.
        cos (torch.Tensor): (B, N, M) cosine similarities of the nodes.
        a (torch.Tensor): (B, N) row marginals.
        b (torch.Tensor): (B, M) column marginals.

    Returns:
        dict[str, torch.Tensor]: ``entropy_ratio``, ``matching_gain`` and
        ``marginal_err``, each (B,), computed without gradient.
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
    return dict(
        entropy_ratio=ratio, matching_gain=s_emd - s_ind, marginal_err=err)
