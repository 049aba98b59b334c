# Copyright (c) mmselfemd contributors. All rights reserved.
"""Convert an mmselfemd checkpoint to a torchvision ResNet state dict.

Usage::

    python tools/model_converters/selfemd2torchvision.py SRC DST

``SRC`` is an mmselfemd pretraining checkpoint (or the output of
``extract_backbone_weights.py``). The online backbone (``backbone.*``) is
written to ``DST`` as a plain ``state_dict`` (torchvision's own format:
``torch.save(model.state_dict())``). mmpretrain's ResNet (``style='pytorch'``,
no deep stem, no average-pool downsampling) has torchvision's parameter
names, so the keys are kept as they are; the converter checks this by
loading the result strictly before saving.

**The classifier ``fc`` is not written**: self-supervised pretraining has
no ImageNet classifier, and inventing one would hide that. Load with
either::

    model = torchvision.models.resnet50()
    model.fc = torch.nn.Identity()          # a feature extractor
    model.load_state_dict(torch.load(DST))  # strict: no missing key

or keep ``fc`` (randomly initialised, for fine-tuning) with
``model.load_state_dict(sd, strict=False)``, whose only missing keys are
``fc.weight`` and ``fc.bias``.
"""
import argparse
import os
import os.path as osp
import re
from typing import Dict, Optional

import torch
from extract_backbone_weights import (
    extract_backbone,
    load_checkpoint_file,
    run_converter,
)
from torch import nn

from mmselfemd.utils.user_errors import add_debug_argument

# (blocks per stage, bottleneck) -> torchvision constructor
_RESNETS = {
    ((2, 2, 2, 2), False): 'resnet18',
    ((3, 4, 6, 3), False): 'resnet34',
    ((3, 4, 6, 3), True): 'resnet50',
    ((3, 4, 23, 3), True): 'resnet101',
    ((3, 8, 36, 3), True): 'resnet152',
}


def torchvision_arch(state_dict: Dict[str, torch.Tensor]) -> str:
    """Name the torchvision ResNet whose layout ``state_dict`` has.

    Args:
        state_dict (dict): A ResNet backbone state dict (mmpretrain names).

    Returns:
        str: ``'resnet18'`` ... ``'resnet152'``.

    Raises:
        ValueError: If the layout is not one of torchvision's ResNets.
    """
    blocks = []
    for stage in range(1, 5):
        ids = {
            int(m.group(1))
            for k in state_dict
            for m in [re.match(rf'layer{stage}\.(\d+)\.', k)] if m
        }
        blocks.append(max(ids) + 1 if ids else 0)
    bottleneck = 'layer1.0.conv3.weight' in state_dict
    arch = _RESNETS.get((tuple(blocks), bottleneck))
    if arch is None:
        raise ValueError(
            f'The backbone has {tuple(blocks)} blocks per stage '
            f'({"bottleneck" if bottleneck else "basic"} blocks), which is '
            'no torchvision ResNet (18/34/50/101/152).')
    return arch


def check_torchvision(state_dict: Dict[str, torch.Tensor],
                      arch: str) -> None:
    """Load ``state_dict`` strictly into ``torchvision.models.<arch>``.

    ``fc`` is replaced by ``nn.Identity`` (see the module docstring).
    """
    import torchvision
    model = getattr(torchvision.models, arch)()
    model.fc = nn.Identity()
    model.load_state_dict(state_dict, strict=True)


def convert(ckpt: dict, path: str = '<checkpoint>'
            ) -> Dict[str, torch.Tensor]:
    """Return the torchvision state dict of an mmselfemd checkpoint."""
    backbone, _ = extract_backbone(ckpt, path, allow_extracted=True)
    check_torchvision(backbone, torchvision_arch(backbone))
    return backbone


def parse_args(argv: Optional[list] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Convert an mmselfemd checkpoint to a torchvision '
        'ResNet state dict (without fc).')
    parser.add_argument('src', help='mmselfemd checkpoint')
    parser.add_argument('dst', help='output file (.pth)')
    add_debug_argument(parser)
    return parser.parse_args(argv)


def main(argv: Optional[list] = None) -> None:
    """Entry point (errors raise; the command line reports them)."""
    run(parse_args(argv))


def run(args: argparse.Namespace) -> None:
    """Convert ``args.src`` into ``args.dst``."""
    state_dict = convert(load_checkpoint_file(args.src), args.src)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(state_dict, args.dst)
    print(f'Saved the {torchvision_arch(state_dict)} state dict '
          f'({len(state_dict)} tensors, no fc) of {args.src} to {args.dst}')


if __name__ == '__main__':
    run_converter(run, parse_args, __file__)
