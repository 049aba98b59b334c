# Copyright (c) mmselfemd contributors. All rights reserved.
"""Recognise the classifier head that a ResNet classifier's file holds."""
from typing import Dict, List, Optional

import torch
from torch import nn

from .state_dict_diff import shape_of

#: Keys of the classifier head of torchvision's (and mmpretrain's) ResNet
#: classifiers, relative to the network that holds the backbone's layers.
CLASSIFIER_HEAD_KEYS = ('fc.weight', 'fc.bias')


def feature_width(backbone: Optional[nn.Module],
                  expected: Dict[str, torch.Tensor]) -> Optional[int]:
    """Channels of a backbone's last stage (a classifier's input).

    Args:
        backbone (nn.Module, optional): The backbone; its ``feat_dim`` is
            used when it has one.
        expected (dict[str, Tensor]): Its state dict; otherwise the output
            channels of its last convolution.

    Returns:
        int, optional: The width, None when neither tells.
    """
    feat_dim = getattr(backbone, 'feat_dim', None)
    if isinstance(feat_dim, int):
        return feat_dim
    convs = [v for v in expected.values() if v.dim() == 4]
    return int(convs[-1].shape[0]) if convs else None


def classifier_head_keys(found: Dict[str, torch.Tensor],
                         expected: Dict[str, torch.Tensor],
                         width: Optional[int]) -> List[str]:
    """Return the keys of ``found`` that are a classifier head to ignore.

    They are ``fc.weight`` (2-D, ``(num_classes, width)``) and optionally
    ``fc.bias`` (``(num_classes, )``), both absent from ``expected``, as in
    torchvision's ``resnet50-0676ba61.pth``. Any other combination is not
    a classifier head.

    Args:
        found (dict[str, Tensor]): The checkpoint's keys (prefix removed).
        expected (dict[str, Tensor]): The backbone's state dict.
        width (int, optional): The backbone's output channels (see
            :func:`feature_width`); None accepts no head.

    Returns:
        list[str]: The head's keys, ``[]`` if there is no such head.
    """
    extra = [k for k in CLASSIFIER_HEAD_KEYS
             if k in found and k not in expected]
    if 'fc.weight' not in extra or width is None:
        return []
    weight, bias = (shape_of(found.get(k)) for k in CLASSIFIER_HEAD_KEYS)
    if len(weight) != 2 or weight[1] != width:
        return []
    if 'fc.bias' in found and bias != (weight[0], ):
        return []
    return extra
