# Copyright (c) mmselfemd contributors. All rights reserved.
"""Convert an mmselfemd checkpoint to a detectron2 ResNet backbone.

Usage::

    python tools/model_converters/selfemd2detectron2.py SRC DST.pkl

``SRC`` is an mmselfemd pretraining checkpoint (or the output of
``extract_backbone_weights.py``). ``DST`` is a pickle in the layout that
detectron2's ``DetectionCheckpointer`` reads for ``.pkl`` files, as written
by detectron2's ``tools/convert-torchvision-to-d2.py`` and MoCo's
``convert-pretrain-to-detectron2.py``::

    {'model': {name: numpy.ndarray}, '__author__': 'mmselfemd',
     'matching_heuristics': True}

Names follow detectron2's ``ResNet``: ``conv1``/``bn1`` → ``stem.conv1`` /
``stem.conv1.norm``; ``layer1..4`` → ``res2..5``; ``bnK`` →
``convK.norm``; ``downsample.0``/``.1`` → ``shortcut``/``shortcut.norm``.
BatchNorm's ``num_batches_tracked`` counters are dropped (detectron2's
``FrozenBatchNorm2d`` has none). Use the file with
``MODEL.WEIGHTS DST.pkl``, ``MODEL.PIXEL_MEAN [123.675, 116.280, 103.530]``,
``MODEL.PIXEL_STD [58.395, 57.120, 57.375]`` and ``INPUT.FORMAT RGB``
(the torchvision-style normalisation the backbone was pretrained with), and
``MODEL.RESNETS.STRIDE_IN_1X1 False`` (pytorch-style blocks).
"""
import argparse
import os
import os.path as osp
import pickle
from typing import Dict, Optional

import numpy as np
from extract_backbone_weights import (
    extract_backbone,
    load_checkpoint_file,
    run_converter,
)

from mmselfemd.utils.user_errors import add_debug_argument


def detectron2_name(key: str) -> str:
    """Map an mmpretrain/torchvision ResNet key to detectron2's name.

    Args:
        key (str): e.g. ``'layer1.0.bn2.weight'``.

    Returns:
        str: e.g. ``'res2.0.conv2.norm.weight'``.
    """
    if not key.startswith('layer'):
        key = 'stem.' + key
    for stage in (1, 2, 3, 4):
        key = key.replace(f'layer{stage}', f'res{stage + 1}')
    for conv in (1, 2, 3):
        key = key.replace(f'bn{conv}', f'conv{conv}.norm')
    key = key.replace('downsample.0', 'shortcut')
    key = key.replace('downsample.1', 'shortcut.norm')
    return key


def convert(ckpt: dict, path: str = '<checkpoint>') -> Dict[str, object]:
    """Return the detectron2 pickle object of an mmselfemd checkpoint."""
    backbone, _ = extract_backbone(ckpt, path, allow_extracted=True)
    model = {}
    for key, value in backbone.items():
        if key.endswith('num_batches_tracked'):
            continue
        name = detectron2_name(key)
        if name in model:
            raise ValueError(f'Two keys of "{path}" map to the detectron2 '
                             f'name "{name}"')
        model[name] = value.detach().cpu().numpy()
    return {
        'model': model,
        '__author__': 'mmselfemd',
        'matching_heuristics': True
    }


def parse_args(argv: Optional[list] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Convert an mmselfemd checkpoint to a detectron2 '
        'backbone pickle.')
    parser.add_argument('src', help='mmselfemd checkpoint')
    parser.add_argument('dst', help='output file (.pkl)')
    add_debug_argument(parser)
    return parser.parse_args(argv)


def main(argv: Optional[list] = None) -> None:
    """Entry point (errors raise; the command line reports them)."""
    run(parse_args(argv))


def run(args: argparse.Namespace) -> None:
    """Convert ``args.src`` into ``args.dst``."""
    if not args.dst.endswith('.pkl'):
        raise ValueError(f'DST must end with .pkl (detectron2 reads .pkl '
                         f'files as pickles), got "{args.dst}"')
    obj = convert(load_checkpoint_file(args.src), args.src)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    with open(args.dst, 'wb') as f:
        pickle.dump(obj, f)
    n = sum(int(np.prod(v.shape)) for v in obj['model'].values())
    print(f'Saved {len(obj["model"])} detectron2 arrays ({n} values) of '
          f'{args.src} to {args.dst}')


if __name__ == '__main__':
    run_converter(run, parse_args, __file__)
