# Copyright (c) mmselfemd contributors. All rights reserved.
"""Spatial collapse of a feature map: how alike its locations are."""
import torch
import torch.nn.functional as F


def node_cosine(fmap: torch.Tensor) -> torch.Tensor:
    """Mean cosine similarity between two different locations of a map.

    1 means every location carries the same direction (a map that cannot
    say where anything is: spatial collapse); unrelated locations give
    about 0 (ReLU features are non-negative, so trained backbones sit well
    above 0). A map with a single location gives 1.

    Args:
        fmap (torch.Tensor): (C, H, W) map, or (B, C, H, W) maps.

    Returns:
        torch.Tensor: Scalar for one map, (B,) for a batch; float32,
        without gradient.
    """
    single = fmap.dim() == 3
    if single:
        fmap = fmap.unsqueeze(0)
    if fmap.dim() != 4:
        raise ValueError('node_cosine expects (C, H, W) or (B, C, H, W), '
                         f'got {tuple(fmap.shape)}')
    with torch.no_grad():
        nodes = fmap.detach().float().flatten(2)  # (B, C, N)
        n = nodes.shape[2]
        if n < 2:
            out = nodes.new_ones(nodes.shape[0])
        else:
            nodes = F.normalize(nodes, dim=1, eps=1e-6)
            # sum over pairs = |sum of unit vectors|^2 - n (the diagonal)
            total = nodes.sum(dim=2).pow(2).sum(dim=1)
            out = (total - nodes.pow(2).sum(dim=(1, 2))) / (n * (n - 1))
    return out[0] if single else out
