# Copyright (c) mmselfemd contributors. All rights reserved.
"""Name the ResNet that a set of state-dict keys describes."""
import re
from typing import Iterable

#: (blocks per stage, bottleneck) -> depth of torchvision's ResNets.
RESNET_DEPTHS = {
    ((2, 2, 2, 2), False): 18,
    ((3, 4, 6, 3), False): 34,
    ((3, 4, 6, 3), True): 50,
    ((3, 4, 23, 3), True): 101,
    ((3, 8, 36, 3), True): 152,
}


def describe_resnet_layout(keys: Iterable[str]) -> str:
    """Describe the ResNet layout of state-dict keys.

    Args:
        keys (Iterable[str]): Keys relative to the ResNet, e.g.
            ``'layer1.0.conv3.weight'``.

    Returns:
        str: E.g. ``'ResNet-50 ((3, 4, 6, 3) bottleneck blocks per
        stage)'``; ``'ResNet (...)'`` for an unknown depth; ``''`` when the
        keys hold no ResNet stage.
    """
    keys = set(keys)
    blocks = []
    for stage in range(1, 5):
        ids = {
            int(m.group(1))
            for k in keys for m in [re.match(rf'layer{stage}\.(\d+)\.', k)]
            if m
        }
        blocks.append(max(ids) + 1 if ids else 0)
    if not any(blocks):
        return ''
    bottleneck = 'layer1.0.conv3.weight' in keys
    depth = RESNET_DEPTHS.get((tuple(blocks), bottleneck))
    kind = 'bottleneck' if bottleneck else 'basic'
    name = f'ResNet-{depth}' if depth else 'ResNet'
    return f'{name} ({tuple(blocks)} {kind} blocks per stage)'
