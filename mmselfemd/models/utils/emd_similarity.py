# Copyright (c) mmselfemd contributors. All rights reserved.
"""EMD similarity of two sets of local features."""
from typing import NamedTuple, Optional, Tuple, Union

import torch
from torch import Tensor

from .cost import cosine_similarity_matrix, scale_cost
from .emd_options import EMD_DEFAULTS, check_emd_options
from .exact_emd import exact_transport_plan
from .node_weights import cross_reference_weights, uniform_weights
from .sinkhorn import sinkhorn


class EMDResult(NamedTuple):
    """What :func:`emd_similarity` computed, with ``return_plan=True``.

    Attributes:
        similarity (Tensor): (B,) ``Σ_ij P_ij cos_ij``.
        plan (Tensor): (B, N, M) transport plans (no gradient in the
            envelope and exact modes).
        cos (Tensor): (B, N, M) cosine similarities.
        a (Tensor): (B, N) row marginals.
        b (Tensor): (B, M) column marginals.
    """
    similarity: Tensor
    plan: Tensor
    cos: Tensor
    a: Tensor
    b: Tensor


def emd_similarity(x: Tensor,
                   y: Tensor,
                   weights: Union[str, Tuple[Tensor, Tensor]] = (
                       EMD_DEFAULTS.weights),
                   eps: float = EMD_DEFAULTS.eps,
                   num_iters: int = EMD_DEFAULTS.num_iters,
                   grad: str = EMD_DEFAULTS.grad,
                   tol: Optional[float] = None,
                   solver: str = EMD_DEFAULTS.solver,
                   eps_mode: str = EMD_DEFAULTS.eps_mode,
                   return_plan: bool = False,
                   **sinkhorn_kwargs) -> Union[Tensor, EMDResult]:
    """Earth Mover's similarity ``S = Σ_ij P_ij cos(x_i, y_j)``.

    ``P`` is the transport plan of the cost ``1 - cos`` between the nodes
    of ``x`` and ``y`` with node weights ``a`` and ``b``; as ``Σ P = 1``,
    ``S`` lies in [-1, 1] and is the cosine similarity for one node per
    side. The defaults (:data:`EMD_DEFAULTS`) are those of
    :class:`~mmselfemd.models.heads.SpatialEMDHead`. Computed in float32
    (float64 for float64 inputs) with autocast off. Formulation, gradient
    modes, solvers and the choice of defaults:
    ``docs/en/advanced_guides/emd.md``.

    Args:
        x (Tensor): (B, N, C) nodes of the first view (e.g. the online
            prediction map flattened).
        y (Tensor): (B, M, C) nodes of the second view (e.g. the target
            projection map flattened).
        weights (str | tuple[Tensor, Tensor]): ``'cross_reference'``
            (DeepEMD, :func:`cross_reference_weights`), ``'uniform'``, or
            the marginals ``(a, b)``, (B, N) and (B, M). They carry no
            gradient. Defaults to ``'cross_reference'``.
        eps (float): Entropic regularisation ε, in the units of
            ``eps_mode``. Defaults to 0.1.
        num_iters (int): Sinkhorn iterations at the target ε (after the
            ε-scaling stages). Defaults to 30.
        grad (str): ``'envelope'`` (the plan is a constant in the backward
            pass) or ``'unrolled'`` (back-propagate through the
            iterations). Defaults to ``'envelope'``.
        tol (float, optional): Early-stopping tolerance of
            :func:`sinkhorn`. Defaults to None.
        solver (str): ``'sinkhorn'`` (entropic) or ``'exact'`` (POT's
            network simplex on the CPU, envelope gradient only; ``eps``,
            ``eps_mode``, ``num_iters`` and ``tol`` are ignored). Defaults
            to ``'sinkhorn'``.
        eps_mode (str): What ε is relative to: ``'absolute'`` (the cost
            ``1 - cos`` itself, in [0, 2]), ``'relative'`` (each problem's
            cost range, :func:`relative_cost`) or ``'std'`` (the RMS of
            each problem's doubly centred cost, :func:`std_cost`). Defaults
            to ``'std'``.
        return_plan (bool): Return an :class:`EMDResult` instead of the
            similarity alone. Defaults to False.
        **sinkhorn_kwargs: Other arguments of :func:`sinkhorn`
            (``eps_start``, ``eps_decay``, ``anneal_iters``, ``omega``,
            ``check_every``).

    Returns:
        Tensor | EMDResult: (B,) similarities (float32, or float64 for
        float64 inputs), or an :class:`EMDResult` with
        ``return_plan=True``.
    """
    check_emd_options(weights, grad, solver, eps_mode)
    cos = cosine_similarity_matrix(x, y)
    if weights == 'cross_reference':
        a, b = cross_reference_weights(x, y), cross_reference_weights(y, x)
    elif weights == 'uniform':
        a, b = uniform_weights(x), uniform_weights(y)
    else:
        a, b = weights
    a = a.detach().to(cos.dtype)
    b = b.detach().to(cos.dtype)
    with torch.set_grad_enabled(torch.is_grad_enabled()
                                and grad == 'unrolled'):
        cost = 1 - cos
        if solver == 'exact':
            plan = exact_transport_plan(cost, a, b)
        else:
            plan = sinkhorn(scale_cost(cost, eps_mode), a, b, eps=eps,
                            num_iters=num_iters, tol=tol, **sinkhorn_kwargs)
    similarity = (plan * cos).sum(dim=(1, 2))
    if return_plan:
        return EMDResult(similarity, plan, cos, a, b)
    return similarity
