# Copyright (c) mmselfemd contributors. All rights reserved.
"""Check that a checkpoint file holds exactly a backbone's weights."""
from typing import Dict, List, Optional

import torch
from torch import nn

from mmselfemd.utils.safe_load import load_checkpoint_safe

from .classifier_head import classifier_head_keys, feature_width
from .resnet_layout import describe_resnet_layout
from .split_resnet import split_shared_head_keys
from .state_dict_diff import diff_state_dicts, examples, select_prefix


class PretrainedBackboneError(RuntimeError):
    """The transfer run would not start from the pretrained backbone."""


def _tensors(checkpoint: str) -> Dict[str, torch.Tensor]:
    """The tensors of a checkpoint's ``state_dict`` (or top level)."""
    loaded = load_checkpoint_safe(checkpoint, map_location='cpu', mmap=True)
    state_dict = loaded.get('state_dict', loaded) if isinstance(
        loaded, dict) else {}
    if not isinstance(state_dict, dict):
        return {}
    return {k: v for k, v in state_dict.items() if isinstance(v, torch.Tensor)}


def _split_resnet(backbone: nn.Module,
                  shared_head: nn.Module) -> Dict[str, torch.Tensor]:
    """The state dict of a ResNet split into backbone and shared head."""
    head = split_shared_head_keys(shared_head)[0]
    expected = backbone.state_dict()
    both = sorted(set(expected) & set(head))
    if both:
        raise PretrainedBackboneError(
            'The backbone and `model.roi_head.shared_head` both have the '
            f"keys {examples(both)}: a C4 detector's backbone must stop "
            "before the stage that its shared head holds (mmdet's C4 "
            'configs: `num_stages=3` and `ResLayer(stage=3)`).')
    return {**expected, **head}


def _prefix_hint(tensors: Dict[str, torch.Tensor],
                 expected: Dict[str, torch.Tensor],
                 prefix: Optional[str]) -> str:
    """What to change when the keys are under another prefix."""
    if prefix and set(expected) & set(tensors):
        return (' Its keys look like an already extracted backbone: set '
                '`model.backbone.init_cfg.prefix=None` (or pass the full '
                'mmselfemd checkpoint).')
    if not prefix and any(k.startswith('backbone.') for k in tensors):
        return (' Its keys are under "backbone.": set '
                '`model.backbone.init_cfg.prefix=backbone.`.')
    return ''


def check_backbone_checkpoint(backbone: nn.Module,
                              checkpoint: str,
                              prefix: Optional[str] = 'backbone.',
                              shared_head: Optional[nn.Module] = None
                              ) -> List[str]:
    """Check that ``checkpoint`` holds exactly ``backbone``'s weights.

    Every key of ``backbone.state_dict()`` must be in the checkpoint (after
    selecting ``prefix``) with the same shape, and the checkpoint must hold
    no other key: a ResNet-101 checkpoint would otherwise load partially
    into a ResNet-50 without a word. The one exception is a classifier head
    that the backbone lacks (see
    :func:`~mmselfemd.models.utils.classifier_head_keys`); its keys are
    returned for the caller to have them ignored when the file is loaded.

    Args:
        backbone (nn.Module): The built backbone.
        checkpoint (str): Path of a local checkpoint file.
        prefix (str, optional): Key prefix selected and stripped, as in
            ``init_cfg=dict(type='Pretrained', prefix=...)``.
            Defaults to ``'backbone.'``.
        shared_head (nn.Module, optional): The RoI head's shared head of a
            C4 detector: its ResNet-stage keys count as the backbone's (see
            :func:`~mmselfemd.models.utils.split_shared_head_keys`).
            Defaults to None (the backbone holds every stage).

    Returns:
        list[str]: The classifier-head keys (after ``prefix``) that loading
        ignores; ``[]`` for a file that holds exactly the backbone.

    Raises:
        PretrainedBackboneError: If the file holds no key under ``prefix``,
            or its keys/shapes differ from the backbone's.
        UnsafeCheckpointError: If it does not load weights-only.
        FileNotFoundError: If the file does not exist.
    """
    tensors = _tensors(checkpoint)
    selected = select_prefix(tensors, prefix)
    expected = backbone.state_dict()
    model_name = type(backbone).__name__
    width = feature_width(backbone, expected)
    if shared_head is not None:
        expected = _split_resnet(backbone, shared_head)
        model_name += (f' + {type(shared_head).__name__} (model.backbone + '
                       'model.roi_head.shared_head)')
        width = feature_width(None, expected)  # the backbone's is res4's
    expected_desc = (f'{len(expected)} {model_name} keys such as ' + examples(
        [f'"{k}" {tuple(v.shape)}' for k, v in expected.items()], 2))
    if not selected:
        found = sorted({k.split('.')[0] for k in tensors})
        raise PretrainedBackboneError(
            f'The pretrained checkpoint "{checkpoint}" has no backbone '
            f'weights under the prefix "{prefix or ""}": expected '
            f'{expected_desc}; its top-level key groups are '
            f'{found or "none (no tensors)"}.'
            f'{_prefix_hint(tensors, expected, prefix)}')

    head = classifier_head_keys(selected, expected, width)
    diff = diff_state_dicts(selected, expected, ignore=head)
    if diff:
        found, wanted = (describe_resnet_layout(keys)
                         for keys in (selected, expected))
        layouts = (f' It holds a {found}, the config builds a {wanted}.'
                   if found and wanted and found != wanted else '')
        raise PretrainedBackboneError(
            f'The pretrained checkpoint "{checkpoint}" (keys under prefix '
            f'"{prefix or ""}") does not match the configured backbone '
            f'{model_name}:{layouts} {diff.describe()}. Expected '
            f'{expected_desc}. The checkpoint was probably trained with '
            'another architecture (e.g. a ResNet-18 checkpoint for a '
            'ResNet-50 config): use the matching config or checkpoint.'
            f'{_prefix_hint(tensors, expected, prefix)}')
    return head
