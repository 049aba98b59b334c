# Copyright (c) mmselfemd contributors. All rights reserved.
"""The ResNet of a C4 detector, split between backbone and RoI head."""
import re
from typing import Dict, List, Tuple

import torch
from torch import nn


def split_shared_head_keys(shared_head: nn.Module
                           ) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Split a C4 shared head's state dict into ResNet-stage keys and others.

    A C4 detector (Faster R-CNN R50-C4) holds the stem and stages 1-3 in
    ``model.backbone`` and the 4th stage (res5) in the RoI head's shared
    head, mmdet's ``ResLayer``, as ``layer{stage + 1}``. What else the head
    has (the ``norm`` after res5 of mmpretrain's ``ResLayerExtraNorm``) is
    not part of a ResNet and starts from its own initialisation.

    Args:
        shared_head (nn.Module): The shared head.

    Returns:
        tuple[dict, list[str]]: The stage's tensors by key, and the other
        keys.
    """
    stage, new = {}, []
    for key, value in shared_head.state_dict().items():
        if re.match(r'layer\d+\.', key):
            stage[key] = value
        else:
            new.append(key)
    return stage, new
