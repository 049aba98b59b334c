# Copyright (c) mmselfemd contributors. All rights reserved.
"""Batched entropic optimal transport (Sinkhorn-Knopp)."""
from typing import List, Optional, Tuple

import torch

from .cost import _compute_dtype
from .emd_options import EMD_DEFAULTS

# Denominators are clamped here so that a node of zero weight or an
# underflowed kernel row gives 0 or a huge but finite scaling, never NaN.
_TINY = 1e-30
# Log-kernel entries are floored here (float32: exp(-70) = 4e-31) so that the
# kernel holds no denormal numbers, which make CPU mat-vec products several
# times slower; the mass this adds is negligible (< N M 4e-31 per unit of
# scaling).
_LOG_FLOOR = {torch.float32: -70.0, torch.float64: -700.0}


def eps_schedule(eps: float, eps_start: Optional[float],
                 eps_decay: float) -> List[float]:
    """ε values of the ε-scaling stages, ending with the target ``eps``.

    Args:
        eps (float): Target ε.
        eps_start (float, optional): First ε; None or ``<= eps`` means no
            annealing.
        eps_decay (float): Ratio between consecutive stages, in (0, 1).

    Returns:
        list[float]: ``[eps_start, eps_start * decay, ..., eps]`` (only
        values above ``eps``, then ``eps``).
    """
    if not 0 < eps_decay < 1:
        raise ValueError(f'eps_decay must be in (0, 1), got {eps_decay}')
    schedule = []
    if eps_start is not None:
        e = float(eps_start)
        # The small slack avoids a stage that differs from eps by rounding.
        while e > eps * (1 + 1e-6):
            schedule.append(e)
            e *= eps_decay
    schedule.append(float(eps))
    return schedule


def check_transport_problem(cost: torch.Tensor, a: torch.Tensor,
                            b: torch.Tensor) -> Tuple[int, int, int]:
    """Check the shapes of a batch of transport problems.

    Args:
        cost (torch.Tensor): (B, N, M) cost matrices.
        a (torch.Tensor): (B, N) row marginals.
        b (torch.Tensor): (B, M) column marginals.

    Returns:
        tuple[int, int, int]: ``(B, N, M)``.

    Raises:
        ValueError: If the shapes do not fit together.
    """
    if cost.dim() != 3:
        raise ValueError(f'cost must be (B, N, M), got {tuple(cost.shape)}')
    batch, n, m = cost.shape
    if a.shape != (batch, n) or b.shape != (batch, m):
        raise ValueError(f'marginals {tuple(a.shape)}, {tuple(b.shape)} do '
                         f'not match cost {tuple(cost.shape)}')
    return batch, n, m


def _relax(old: torch.Tensor, new: torch.Tensor,
           omega: float) -> torch.Tensor:
    """Over-relaxed scaling ``old^(1-ω) new^ω``, kept finite."""
    ratio = new / old.clamp_min(_TINY)
    return (old * ratio.pow(omega)).clamp(_TINY, 1 / _TINY)


def sinkhorn(cost: torch.Tensor,
             a: torch.Tensor,
             b: torch.Tensor,
             eps: float = EMD_DEFAULTS.eps,
             num_iters: int = EMD_DEFAULTS.num_iters,
             tol: Optional[float] = None,
             eps_start: Optional[float] = 1.0,
             eps_decay: float = 0.5,
             anneal_iters: int = 3,
             omega: float = 1.5,
             check_every: int = 10) -> torch.Tensor:
    """Entropic optimal transport plans of a batch of problems.

    Solves, for every problem of the batch at once (`Cuturi, NeurIPS 2013
    <https://arxiv.org/abs/1306.0895>`_)::

        P = argmin_P <P, C> - ε H(P)   s.t.  P 1 = a,  Pᵀ 1 = b,  P >= 0

    with ``H(P) = -Σ P_ij (log P_ij - 1)``, by stabilised, over-relaxed
    Sinkhorn scalings with ε-scaling (ε annealed from ``eps_start`` by
    ``eps_decay``, ``anneal_iters`` iterations per stage, then up to
    ``num_iters`` at ``eps``), in float32 (float64 for float64 inputs)
    with autocast off, without a Python loop over the batch. Without
    ``tol`` the last update is the row scaling (exact row marginals) and
    there is no host-device synchronisation; with ``tol`` it stops once
    the row L1 marginal error is ``<= tol`` (exact column marginals).
    Gradients flow through the iterations if ``cost`` requires grad. The
    defaults of ``eps`` and ``num_iters`` are :data:`EMD_DEFAULTS`', the
    model's, for the cost that :func:`emd_similarity` passes (the doubly
    centred cost in units of its RMS, :func:`std_cost`). The algorithm
    step by step: ``docs/en/advanced_guides/emd.md``.

    Args:
        cost (torch.Tensor): (B, N, M) cost matrices.
        a (torch.Tensor): (B, N) row marginals (non-negative, sum 1).
        b (torch.Tensor): (B, M) column marginals (non-negative, sum 1).
        eps (float): Target entropic regularisation ε, in the units of
            ``cost``. Defaults to 0.1.
        num_iters (int): Maximum number of iterations at the target ε.
            Defaults to 30.
        tol (float, optional): Stop once the L1 marginal error is below
            this, checked every ``check_every`` iterations of the final
            stage. Defaults to None (fixed number of iterations).
        eps_start (float, optional): First ε of the annealing; None turns
            ε-scaling off. Defaults to 1.0.
        eps_decay (float): Ratio between two annealing stages. Defaults to
            0.5.
        anneal_iters (int): Iterations per annealing stage. Defaults to 3.
        omega (float): Over-relaxation factor in [1, 2); 1 is plain
            Sinkhorn. Defaults to 1.5.
        check_every (int): Iterations between two tolerance checks.
            Defaults to 10.

    Returns:
        torch.Tensor: (B, N, M) transport plans, float32 (float64 for
        float64 inputs).
    """
    batch, n, m = check_transport_problem(cost, a, b)
    if eps <= 0:
        raise ValueError(f'eps must be positive, got {eps}')
    if num_iters < 1:
        raise ValueError(f'num_iters must be >= 1, got {num_iters}')
    if not 1 <= omega < 2:
        raise ValueError(f'omega must be in [1, 2), got {omega}')
    schedule = eps_schedule(eps, eps_start, eps_decay)
    dtype = _compute_dtype(cost.dtype)
    with torch.autocast(device_type=cost.device.type, enabled=False):
        cost = cost.to(dtype)
        a = a.to(dtype).unsqueeze(2)  # (B, N, 1)
        b = b.to(dtype).unsqueeze(1)  # (B, 1, M)
        g = cost.new_zeros(batch, 1, m)  # column potential
        u = kernel = v = None
        for stage, e in enumerate(schedule):
            final = stage == len(schedule) - 1
            # Log-domain row update: f_i = ε log a_i - ε LSE_j (g_j-C_ij)/ε;
            # the kernel exp((f_i + g_j - C_ij)/ε) then has rows summing
            # to a_i.
            z = (g - cost) / e
            z = (z - z.amax(dim=2, keepdim=True)).clamp_min(_LOG_FLOOR[dtype])
            kernel = z.exp_() if not z.requires_grad else z.exp()
            kernel = kernel * (a / kernel.sum(dim=2, keepdim=True))
            u = torch.ones_like(a)
            v = torch.ones_like(b)
            iters = num_iters if final else anneal_iters
            for it in range(iters):
                check = final and tol is not None and (
                    (it + 1) % check_every == 0 or it + 1 == iters)
                relax = omega != 1 and not check and it + 1 < iters
                v_new = b / torch.bmm(u.transpose(1, 2),
                                      kernel).clamp_min(_TINY)
                v = _relax(v, v_new, omega) if relax else v_new
                kv = torch.bmm(kernel, v.transpose(1, 2))
                if check:
                    # Row error of the current plan u K v (its columns are
                    # exact after the plain v update).
                    err = (u * kv - a).abs().sum(dim=1).amax()
                    if err.item() <= tol:
                        break
                u_new = a / kv.clamp_min(_TINY)
                u = _relax(u, u_new, omega) if relax else u_new
            if not final:
                # Absorb the column scaling into the potential; the row
                # scaling is recomputed exactly at the next stage.
                g = g + e * v.clamp_min(_TINY).log()
        return u * kernel * v
