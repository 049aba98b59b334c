# Copyright (c) mmselfemd contributors. All rights reserved.
"""EMD similarity of two sets of local features."""
from typing import NamedTuple, Optional, Tuple, Union

import torch
from torch import Tensor

from .cost import cosine_similarity_matrix
from .exact_emd import exact_transport_plan
from .node_weights import cross_reference_weights, uniform_weights
from .sinkhorn import sinkhorn

SOLVERS = ('sinkhorn', 'exact')
EPS_MODES = ('absolute', 'relative', 'std')


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


def relative_cost(cost: Tensor) -> Tensor:
    """Cost shifted and scaled per problem to the range [0, 1].

    ``(C - min C) / (max C - min C)`` over each (N, M) problem. Shifting a
    cost by a constant does not change the transport plan, and solving with
    ε on this cost gives the plan of ``ε × (max C - min C)`` on the
    original cost: ε becomes relative to the cost spread of each problem.
    A problem whose costs are all equal (spread ≤ 1e-6) keeps spread 1e-6.

    Args:
        cost (Tensor): (B, N, M) costs.

    Returns:
        Tensor: (B, N, M) costs in [0, 1].
    """
    low = cost.amin(dim=(1, 2), keepdim=True)
    spread = cost.amax(dim=(1, 2), keepdim=True) - low
    return (cost - low) / spread.clamp_min(1e-6)


def std_cost(cost: Tensor) -> Tensor:
    """Cost with row and column effects removed, in units of its spread.

    A cost ``C_ij = r_i + c_j`` (a row effect plus a column effect) has the
    same transport plan as a constant cost: the potentials absorb it, and
    the plan is the independent coupling. Only the *interaction* part of
    the cost says which node goes where. This returns the doubly centred
    cost ``C_ij - mean_j C_ij - mean_i C_ij + mean C`` divided by its
    standard deviation over each (N, M) problem. It has the same plans as
    ``C`` for ε times that standard deviation: ε becomes relative to how
    much the costs disagree about the matching. Unlike the range of
    :func:`relative_cost` (set by one outlying pair, and by row effects
    such as a node that is far from all others), this keeps the plan as
    sharp as the structure of the problem allows however close together
    the costs are, as they are when the maps of two views are nearly
    uniform. A problem without interaction (std <= 1e-6) keeps 1e-6.

    Args:
        cost (Tensor): (B, N, M) costs.

    Returns:
        Tensor: (B, N, M) doubly centred costs, standard deviation
        (root mean square) 1.
    """
    centred = (cost - cost.mean(dim=2, keepdim=True) -
               cost.mean(dim=1, keepdim=True) +
               cost.mean(dim=(1, 2), keepdim=True))
    # the centred cost has mean 0: its standard deviation is its RMS
    std = centred.flatten(1).pow(2).mean(dim=1).sqrt().view(-1, 1, 1)
    return centred / std.clamp_min(1e-6)


def emd_similarity(x: torch.Tensor,
                   y: torch.Tensor,
                   weights: Union[str, Tuple[Tensor,
                                             Tensor]] = 'cross_reference',
                   eps: float = 0.05,
                   num_iters: int = 50,
                   grad: str = 'envelope',
                   tol: Optional[float] = None,
                   solver: str = 'sinkhorn',
                   eps_mode: str = 'absolute',
                   return_plan: bool = False,
                   **sinkhorn_kwargs) -> Union[Tensor, EMDResult]:
    """Earth Mover's similarity ``S = Σ_ij P_ij cos(x_i, y_j)``.

    The similarity of two views in `Self-EMD
    <https://arxiv.org/abs/2011.13677>`_, following `DeepEMD
    <https://arxiv.org/abs/2003.06777>`_: the nodes (locations of the two
    feature maps) are matched by the entropic optimal transport plan ``P``
    of the cost ``C = 1 - cos`` with node weights ``a`` (of ``x``) and ``b``
    (of ``y``), solved by :func:`sinkhorn`. As ``Σ P = 1``,
    ``S = 1 - <P, C>`` lies in [-1, 1]; it is 1 for identical node sets and
    about 0 for orthogonal ones. With one node on each side it is the
    cosine similarity, so ``2 - 2 S`` generalises BYOL's loss.

    Computed in float32 (float64 for float64 inputs) with autocast
    disabled, so fp16/bf16 activations are safe; the result is float32.

    Gradient (``grad``):

    - ``'envelope'`` (default): ``P`` is computed without autograd and
      treated as a constant, so ``∂S/∂cos_ij = P_ij``. By the envelope
      (Danskin) theorem this is the *exact* gradient of the entropic value
      ``S_ε = 1 - OT_ε(C) = S + ε H(P)`` (``OT_ε`` the optimal value of
      the regularised problem, ``H(P) = -Σ P (log P - 1)``), at the
      converged plan. It differs from the gradient of ``S`` itself only by
      the gradient of ``ε H(P)``, which vanishes as ε → 0. It is our
      default because it is cheap (one batched product, no memory for the
      iterations), does not depend on how the solver got to ``P`` (ε-
      scaling, early stopping), and is the gradient of a well-defined
      smooth objective.
    - ``'unrolled'``: back-propagation through every Sinkhorn iteration;
      at convergence the exact gradient of ``S``. Memory and time grow
      with the iteration count.

    The node weights carry no gradient (DeepEMD's choice: they only say
    which nodes should be matched).

    Solver (``solver``):

    - ``'sinkhorn'`` (default): the entropic plan of :func:`sinkhorn`.
      With ``eps_mode='relative'`` ε is relative to the cost spread of
      each problem (the cost is rescaled to [0, 1] by
      :func:`relative_cost` before solving): early in training, when all
      costs are close, an absolute ε gives a near-uniform plan, while a
      relative ε keeps the plan equally sharp whatever the spread. With
      ``eps_mode='std'`` ε is relative to the standard deviation of the
      doubly centred cost (:func:`std_cost`): row and column effects,
      which do not change the plan, do not set the scale either.
    - ``'exact'``: the exact EMD plan (network simplex, POT's ``ot.emd``,
      as DeepEMD does), solved on the CPU problem by problem and used as a
      constant (envelope gradient); ``eps``, ``eps_mode``, ``num_iters``,
      ``tol`` are ignored. Not differentiable through (``'unrolled'`` is
      refused).

    Args:
        x (torch.Tensor): (B, N, C) nodes of the first view (e.g. the
            online prediction map flattened).
        y (torch.Tensor): (B, M, C) nodes of the second view (e.g. the
            target projection map flattened).
        weights (str | tuple[Tensor, Tensor]): ``'cross_reference'``
            (DeepEMD, see :func:`cross_reference_weights`), ``'uniform'``,
            or explicit marginals ``(a, b)`` of shapes (B, N) and (B, M).
            Defaults to ``'cross_reference'``.
        eps (float): Entropic regularisation ε on costs in [0, 2].
            Defaults to 0.05.
        num_iters (int): Sinkhorn iterations at the target ε (after the
            ε-scaling stages). Defaults to 50.
        grad (str): ``'envelope'`` or ``'unrolled'``. Defaults to
            ``'envelope'``.
        tol (float, optional): Early-stopping tolerance of
            :func:`sinkhorn`. Defaults to None.
        solver (str): ``'sinkhorn'`` or ``'exact'``. Defaults to
            ``'sinkhorn'``.
        eps_mode (str): ``'absolute'`` (ε on costs in [0, 2]),
            ``'relative'`` (ε times each problem's cost range) or ``'std'``
            (ε times the standard deviation of each problem's doubly
            centred cost). ε is treated as a constant in the backward pass,
            like the plan. Defaults to ``'absolute'``.
        return_plan (bool): Return an :class:`EMDResult` (similarity,
            plan, cosines, marginals) instead of the similarity alone.
            Defaults to False.
        **sinkhorn_kwargs: Other arguments of :func:`sinkhorn`
            (``eps_start``, ``eps_decay``, ``anneal_iters``,
            ``check_every``).

    Returns:
        torch.Tensor | EMDResult: (B,) similarities, or an
        :class:`EMDResult` with ``return_plan=True``.
    """
    if grad not in ('envelope', 'unrolled'):
        raise ValueError(f'unknown gradient mode {grad!r}')
    if solver not in SOLVERS:
        raise ValueError(f'unknown solver {solver!r}, expected one of '
                         f'{SOLVERS}')
    if eps_mode not in EPS_MODES:
        raise ValueError(f'unknown eps_mode {eps_mode!r}, expected one of '
                         f'{EPS_MODES}')
    if solver == 'exact' and grad == 'unrolled':
        raise ValueError("solver='exact' has no unrolled gradient; use "
                         "grad='envelope'")
    cos = cosine_similarity_matrix(x, y)
    if isinstance(weights, str):
        if weights == 'cross_reference':
            a = cross_reference_weights(x, y)
            b = cross_reference_weights(y, x)
        elif weights == 'uniform':
            a, b = uniform_weights(x), uniform_weights(y)
        else:
            raise ValueError(f'unknown node weights {weights!r}')
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
            if eps_mode == 'relative':
                cost = relative_cost(cost)
            elif eps_mode == 'std':
                cost = std_cost(cost)
            plan = sinkhorn(cost, a, b, eps=eps, num_iters=num_iters,
                            tol=tol, **sinkhorn_kwargs)
    similarity = (plan * cos).sum(dim=(1, 2))
    if return_plan:
        return EMDResult(similarity, plan, cos, a, b)
    return similarity
