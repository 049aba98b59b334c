# Copyright (c) mmselfemd contributors. All rights reserved.
"""The C4 rule of the backbone check: res5 starts where the backbone does.

A C4 detector (Faster R-CNN R50-C4) holds the stem and stages 1-3 of the
ResNet in ``model.backbone`` and res5 in the RoI head's shared head, so the
two parts must load one checkpoint, or both start from random weights.
"""
from typing import List, Optional

from torch import nn

from mmselfemd.models.utils import PretrainedBackboneError

#: ``checkpoint`` of the C4 configs' ``model.roi_head.shared_head.init_cfg``:
#: res5 loads the file (and prefix) of the backbone's ``init_cfg``, which
#: :class:`PretrainedBackboneCheckHook` copies there once checked; mmengine
#: alone cannot load it.
SAME_AS_BACKBONE = 'same-as-model.backbone.init_cfg'


def pretrained_cfgs(init_cfg) -> List[dict]:
    """Return the ``type='Pretrained'`` entries of an ``init_cfg``."""
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    return [
        cfg for cfg in cfgs
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'
    ]


def check_random_shared_head(shared: Optional[nn.Module],
                             attr: str) -> None:
    """Refuse a pretrained C4 shared head on a random backbone.

    Args:
        shared (nn.Module, optional): The shared head (None: no C4 model).
        attr (str): Where it is, e.g. ``'roi_head.shared_head'``.
    """
    entries = pretrained_cfgs(getattr(shared, 'init_cfg', None))
    if entries:
        raise PretrainedBackboneError(
            'The backbone has no pretrained checkpoint, but '
            f"`model.{attr}` (the C4 detector's res5) would load "
            f'"{entries[0].get("checkpoint")}". Give the checkpoint to the '
            'backbone (`model.backbone.init_cfg.checkpoint` or '
            '`MMSELFEMD_PRETRAINED`); res5 follows it. For the random-init '
            f'baseline use the `*-scratch_*` config (`model.{attr}.init_cfg'
            '=None`).')


def check_shared_head_follows(shared: nn.Module, backbone_cfg: dict,
                              attr: str) -> None:
    """Refuse a C4 shared head that would not load the backbone's res5.

    Its ``init_cfg`` must be ``Pretrained`` from :data:`SAME_AS_BACKBONE`,
    or from the backbone's checkpoint with the backbone's prefix.

    Args:
        shared (nn.Module): The shared head.
        backbone_cfg (dict): The backbone's ``Pretrained`` init_cfg.
        attr (str): Where the head is, e.g. ``'roi_head.shared_head'``.
    """
    fix = (f"Set `model.{attr}.init_cfg=dict(type='Pretrained', "
           f"checkpoint='{SAME_AS_BACKBONE}')`, as the C4 transfer configs "
           'do, so that res5 comes from the checkpoint of '
           '`model.backbone.init_cfg`.')
    init_cfg = getattr(shared, 'init_cfg', None)
    entries = pretrained_cfgs(init_cfg)
    if not entries:
        raise PretrainedBackboneError(
            f'The backbone is loaded from "{backbone_cfg["checkpoint"]}", '
            f"but `model.{attr}` (the C4 detector's res5, the last ResNet "
            "stage) has no `type='Pretrained'` init_cfg (it is "
            f'{init_cfg!r}): res5 would start from random weights. {fix}')
    same = (backbone_cfg.get('checkpoint'), backbone_cfg.get('prefix'))
    for entry in entries:
        theirs = (entry.get('checkpoint'), entry.get('prefix'))
        if theirs[0] != SAME_AS_BACKBONE and theirs != same:
            raise PretrainedBackboneError(
                f"`model.{attr}` (the C4 detector's res5) would load "
                f'"{theirs[0]}" with prefix "{theirs[1] or ""}", but the '
                f'backbone loads "{same[0]}" with prefix "{same[1] or ""}": '
                'the ResNet stages of a C4 detector must come from one '
                f'checkpoint. {fix}')
