# Copyright (c) mmselfemd contributors. All rights reserved.
"""Node weights (the marginals of the transport problem)."""
import torch

from .cost import _compute_dtype, l2_normalize


def uniform_weights(x: torch.Tensor) -> torch.Tensor:
    """Uniform node weights ``1 / N``.

    Args:
        x (torch.Tensor): (B, N, C) nodes.

    Returns:
        torch.Tensor: (B, N) weights summing to 1, float32 (float64 for
        float64 inputs).
    """
    batch, num_nodes = x.shape[:2]
    return x.new_full((batch, num_nodes), 1.0 / num_nodes,
                      dtype=_compute_dtype(x.dtype))


def cross_reference_weights(x: torch.Tensor,
                            y: torch.Tensor,
                            delta: float = 1e-3,
                            normalize: bool = True,
                            detach: bool = True) -> torch.Tensor:
    """Cross-reference node weights of DeepEMD.

    From `DeepEMD (Zhang et al., CVPR 2020)
    <https://arxiv.org/abs/2003.06777>`_: a node of ``x`` weighs as much as
    it agrees with the mean node of the other view,
    ``s_i = max(x_i · mean_j y_j, 0) + delta``, normalised to sum to 1.
    Nodes unrelated to the other view (background, objects the other crop
    does not contain) get little mass. For the weights of ``y`` call
    ``cross_reference_weights(y, x)``.

    DeepEMD uses raw post-ReLU features. By default (``normalize=True``,
    our choice) the nodes are L2-normalised first, so that the weights are
    scale invariant like the cosine cost and ``delta`` has a fixed meaning
    (the dot products lie in [-1, 1]).

    Args:
        x (torch.Tensor): (B, N, C) nodes to weigh.
        y (torch.Tensor): (B, M, C) nodes of the other view.
        delta (float): Constant added after the clamp; keeps every node
            in the problem and avoids an all-zero row. Defaults to 1e-3
            (DeepEMD's value).
        normalize (bool): L2-normalise the nodes first. Defaults to True.
        detach (bool): Compute without gradient. Defaults to True.

    Returns:
        torch.Tensor: (B, N) weights summing to 1, float32 (float64 for
        float64 inputs).
    """
    dtype = _compute_dtype(torch.promote_types(x.dtype, y.dtype))
    with torch.set_grad_enabled(torch.is_grad_enabled() and not detach), \
            torch.autocast(device_type=x.device.type, enabled=False):
        x = x.to(dtype)
        y = y.to(dtype)
        if normalize:
            x = l2_normalize(x)
            y = l2_normalize(y)
        s = torch.bmm(x, y.mean(dim=1, keepdim=True).transpose(1, 2))
        s = s.squeeze(2).clamp(min=0) + delta
        return s / s.sum(dim=1, keepdim=True)
