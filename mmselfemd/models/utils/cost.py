# Copyright (c) mmselfemd contributors. All rights reserved.
"""Ground cost between the local features (nodes) of two views."""
import torch


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """Float32, or float64 when the input is float64 (e.g. gradcheck)."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def l2_normalize(x: torch.Tensor, norm_eps: float = 1e-6) -> torch.Tensor:
    """L2-normalise the last dimension; vectors of norm ``<= norm_eps``
    become exactly zero and receive no gradient.

    ``F.normalize`` would give a zero vector the gradient ``1 / eps``
    (1e12 by default), which overflows in fp16 and blows up training.

    Args:
        x (torch.Tensor): (..., C) vectors.
        norm_eps (float): Norm below which a vector counts as zero.
            Defaults to 1e-6.

    Returns:
        torch.Tensor: Unit vectors (or zeros), same shape and dtype.
    """
    norm = x.norm(dim=-1, keepdim=True)
    return torch.where(norm > norm_eps, x / norm.clamp_min(norm_eps), 0.0)


def cosine_similarity_matrix(x: torch.Tensor, y: torch.Tensor,
                             norm_eps: float = 1e-6) -> torch.Tensor:
    """Pairwise cosine similarity of two node sets.

    Computed in float32 (float64 for float64 inputs) with autocast disabled,
    so that fp16/bf16 inputs of any norm give finite values and gradients.
    A (near-)zero vector has cosine 0 with everything and no gradient.

    Args:
        x (torch.Tensor): (B, N, C) nodes of the first view.
        y (torch.Tensor): (B, M, C) nodes of the second view.
        norm_eps (float): Nodes with a norm ``<= norm_eps`` count as zero
            vectors. Defaults to 1e-6.

    Returns:
        torch.Tensor: (B, N, M) cosine similarities ``cos(x_i, y_j)``.
    """
    if x.dim() != 3 or y.dim() != 3 or x.shape[0] != y.shape[0] \
            or x.shape[2] != y.shape[2]:
        raise ValueError('expected x (B, N, C) and y (B, M, C), got '
                         f'{tuple(x.shape)} and {tuple(y.shape)}')
    dtype = _compute_dtype(torch.promote_types(x.dtype, y.dtype))
    with torch.autocast(device_type=x.device.type, enabled=False):
        x = l2_normalize(x.to(dtype), norm_eps)
        y = l2_normalize(y.to(dtype), norm_eps)
        return torch.bmm(x, y.transpose(1, 2))


def cosine_cost(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cosine cost ``c_ij = 1 - cos(x_i, y_j)`` in [0, 2].

    The ground cost of DeepEMD (`Zhang et al., CVPR 2020
    <https://arxiv.org/abs/2003.06777>`_) used by `Self-EMD
    <https://arxiv.org/abs/2011.13677>`_. Computed in float32 (float64 for
    float64 inputs) even under autocast.

    Args:
        x (torch.Tensor): (B, N, C) nodes of the first view.
        y (torch.Tensor): (B, M, C) nodes of the second view.

    Returns:
        torch.Tensor: (B, N, M) cost matrix.
    """
    return 1 - cosine_similarity_matrix(x, y)


def relative_cost(cost: torch.Tensor) -> torch.Tensor:
    """Cost shifted and scaled per problem to the range [0, 1].

    ``(C - min C) / (max C - min C)`` over each (N, M) problem, so that ε
    on it is ε times the cost range of the problem on ``C`` (a shift does
    not change the plan). A spread ``<= 1e-6`` counts as 1e-6.

    Args:
        cost (torch.Tensor): (B, N, M) costs.

    Returns:
        torch.Tensor: (B, N, M) costs in [0, 1].
    """
    low = cost.amin(dim=(1, 2), keepdim=True)
    spread = cost.amax(dim=(1, 2), keepdim=True) - low
    return (cost - low) / spread.clamp_min(1e-6)


def std_cost(cost: torch.Tensor) -> torch.Tensor:
    """Doubly centred cost, in units of its standard deviation.

    ``C_ij - mean_j C_ij - mean_i C_ij + mean C`` divided by its RMS over
    each (N, M) problem (an RMS ``<= 1e-6`` counts as 1e-6). Row and column
    effects do not change a transport plan, so this has the plans of ``C``
    for ε times that RMS. Why this is the model's scale of ε:
    ``docs/en/advanced_guides/emd.md``.

    Args:
        cost (torch.Tensor): (B, N, M) costs.

    Returns:
        torch.Tensor: (B, N, M) doubly centred costs of RMS 1.
    """
    centred = (cost - cost.mean(dim=2, keepdim=True) -
               cost.mean(dim=1, keepdim=True) +
               cost.mean(dim=(1, 2), keepdim=True))
    # the centred cost has mean 0: its standard deviation is its RMS
    ms = centred.flatten(1).pow(2).mean(dim=1).view(-1, 1, 1)
    # sqrt is not differentiable at 0 (a problem without interaction,
    # e.g. one node per side): take it where the RMS is positive only, so
    # that the unrolled gradient stays finite; the values are unchanged
    positive = ms > 0
    std = torch.where(positive,
                      torch.where(positive, ms, 1.0).sqrt(), 0.0)
    return centred / std.clamp_min(1e-6)


def scale_cost(cost: torch.Tensor, eps_mode: str) -> torch.Tensor:
    """The cost on which ε is given, for an ``eps_mode``.

    Args:
        cost (torch.Tensor): (B, N, M) costs.
        eps_mode (str): ``'absolute'`` (the cost itself), ``'relative'``
            (:func:`relative_cost`) or ``'std'`` (:func:`std_cost`).

    Returns:
        torch.Tensor: (B, N, M) costs with the plans of ``cost``.
    """
    if eps_mode == 'relative':
        return relative_cost(cost)
    if eps_mode == 'std':
        return std_cost(cost)
    return cost
