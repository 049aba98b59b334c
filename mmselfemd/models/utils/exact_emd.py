# Copyright (c) mmselfemd contributors. All rights reserved.
"""Exact optimal transport plans (network simplex, POT)."""
import numpy as np
import torch

from .sinkhorn import check_transport_problem


def exact_transport_plan(cost: torch.Tensor, a: torch.Tensor,
                         b: torch.Tensor,
                         num_itermax: int = 100000) -> torch.Tensor:
    """Exact (unregularised) optimal transport plans of a batch.

    Solves ``min_P <P, C>`` s.t. ``P 1 = a``, ``Pᵀ 1 = b``, ``P >= 0`` for
    every problem of the batch with POT's network simplex (``ot.emd``), the
    solver DeepEMD uses. The problems are solved one by one on the CPU in
    float64 (the tensors are copied to the host and the plans back), so
    this is much slower than :func:`sinkhorn` for large batches on a GPU
    (``docs/en/advanced_guides/emd.md``). The plan is a constant
    (no gradient): with :func:`emd_similarity`, ``S = Σ P cos`` then has
    the gradient ``P``, which by the envelope (Danskin) theorem is the
    gradient of the exact EMD wherever the optimal plan is unique.

    Args:
        cost (torch.Tensor): (B, N, M) cost matrices.
        a (torch.Tensor): (B, N) row marginals (non-negative, sum 1).
        b (torch.Tensor): (B, M) column marginals (non-negative, sum 1).
        num_itermax (int): Iteration cap of the network simplex.
            Defaults to 100000 (POT's default).

    Returns:
        torch.Tensor: (B, N, M) plans, float32 (float64 for float64 costs),
        on the device of ``cost``.
    """
    try:
        import ot
    except ImportError as e:  # pragma: no cover - POT is a requirement
        raise ImportError(
            "solver='exact' needs POT (pip install POT): "
            f'{e}') from e
    batch = check_transport_problem(cost, a, b)[0]
    c_np = cost.detach().to('cpu', torch.float64).numpy()
    a_np = a.detach().to('cpu', torch.float64).numpy()
    b_np = b.detach().to('cpu', torch.float64).numpy()
    plans = np.empty_like(c_np)
    for i in range(batch):
        # network simplex needs marginals of exactly equal mass
        ai = a_np[i] / a_np[i].sum()
        bi = b_np[i] / b_np[i].sum()
        plans[i] = ot.emd(ai, bi, c_np[i], numItermax=num_itermax)
    dtype = torch.float64 if cost.dtype == torch.float64 else torch.float32
    return torch.from_numpy(plans).to(device=cost.device, dtype=dtype)
