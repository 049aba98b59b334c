# Copyright (c) mmselfemd contributors. All rights reserved.
"""Extract the online backbone from an mmselfemd pretraining checkpoint.

Usage::

    python tools/model_converters/extract_backbone_weights.py SRC DST

``SRC`` is a checkpoint written by ``tools/train.py`` (an mmpretrain
``BaseSelfSupervisor``: ``backbone.*``, ``neck.*``, ``head.*`` and the EMA
target ``target_net.module.*``). ``DST`` receives
``{'state_dict': {...}, 'meta': {...}}`` with the keys of ``backbone.*``,
prefix stripped (``conv1.weight``, ``bn1.*``, ``layer1.0.conv1.weight``,
...), i.e. the *online* backbone only: the EMA target, the neck and the
head are dropped. mmdet's and mmpretrain's ``ResNet`` load it with
``strict=True``; in a config use
``init_cfg=dict(type='Pretrained', checkpoint=DST)`` (no prefix).

The other converters (``selfemd2torchvision.py``, ``selfemd2detectron2.py``)
import :func:`extract_backbone` from this file.
"""
import argparse
import os
import os.path as osp
import pickle
import re
from typing import Dict, Optional, Tuple

import torch

from mmselfemd.utils import load_checkpoint_safe
from mmselfemd.utils.safe_load import UnsafeCheckpointError
from mmselfemd.utils.user_errors import add_debug_argument, run_cli

BACKBONE_PREFIX = 'backbone.'
# Plain meta entries copied from the source checkpoint.
_KEPT_META = ('epoch', 'iter', 'seed', 'experiment_name', 'time',
              'mmengine_version', 'mmselfemd_version')


def load_checkpoint_file(path: str) -> dict:
    """Load a checkpoint weights-only (no code runs while loading).

    Args:
        path (str): The checkpoint file.

    Returns:
        dict: The loaded checkpoint.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint file "{path}" not found')
    try:
        ckpt = load_checkpoint_safe(path, map_location='cpu')
    except UnsafeCheckpointError:
        raise
    except (pickle.UnpicklingError, EOFError, KeyError, RuntimeError) as e:
        # torch.load on a file that is no checkpoint (e.g. a bare KeyError
        # for a text file)
        raise ValueError(
            f'cannot read "{path}" as a checkpoint ({type(e).__name__}: '
            f'{e}); expected a file written by torch.save, such as '
            'the iter_N.pth or epoch_N.pth of tools/train.py') from e
    if not isinstance(ckpt, dict):
        raise ValueError(f'checkpoint "{path}" holds a {type(ckpt).__name__}'
                         ', expected a dict (a state dict or a checkpoint '
                         'with a "state_dict" key)')
    return ckpt


def extract_backbone(ckpt: dict,
                     path: str = '<checkpoint>',
                     allow_extracted: bool = False
                     ) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Return the online backbone's state dict and the source meta.

    Args:
        ckpt (dict): A loaded mmselfemd checkpoint (``state_dict`` under
            ``'state_dict'`` or at the top level; a DDP ``module.`` prefix
            is removed).
        path (str): The file name, for error messages.
        allow_extracted (bool): Accept an already extracted backbone (keys
            ``conv1.weight``, ``layer1.*``, ... without prefix) and return
            it unchanged. Defaults to False.

    Returns:
        tuple[dict, dict]: The backbone state dict (prefix stripped) and the
        checkpoint's ``meta`` (empty if absent).

    Raises:
        ValueError: If the checkpoint holds no ``backbone.*`` tensor.
    """
    state_dict = ckpt.get('state_dict', ckpt)
    tensors = {
        re.sub(r'^module\.', '', k): v
        for k, v in state_dict.items() if isinstance(v, torch.Tensor)
    }
    backbone = {
        k[len(BACKBONE_PREFIX):]: v.detach().clone()
        for k, v in tensors.items() if k.startswith(BACKBONE_PREFIX)
    }
    looks_extracted = 'conv1.weight' in tensors and all(
        k.split('.')[0] in ('conv1', 'bn1') or k.startswith('layer')
        for k in tensors)
    if not backbone and allow_extracted and looks_extracted:
        backbone = {k: v.detach().clone() for k, v in tensors.items()}
    if not backbone:
        groups = sorted({k.split('.')[0] for k in tensors})
        raise ValueError(
            f'No online backbone weights (keys "{BACKBONE_PREFIX}*") in '
            f'"{path}"; its top-level key groups are {groups or "none"}. '
            + ('It looks like an already extracted backbone: use it as is.'
               if looks_extracted else
               'Expected an mmselfemd/mmpretrain self-supervised checkpoint '
               'written by tools/train.py.'))
    meta = ckpt.get('meta', {}) if isinstance(ckpt.get('meta'), dict) else {}
    return backbone, meta


def build_meta(src: str, meta: dict, converter: str) -> dict:
    """Meta for a converted file: plain data only (weights-only loadable).

    Args:
        src (str): Source checkpoint path.
        meta (dict): The source checkpoint's meta.
        converter (str): Name of the conversion.

    Returns:
        dict: ``source``, ``converter`` and the plain scalar entries of
        ``meta`` (epoch, iter, seed, ...).
    """
    out = dict(source=osp.basename(src), converter=converter)
    for key in _KEPT_META:
        value = meta.get(key)
        if isinstance(value, (int, float, str, bool)):
            out[key] = value
    return out


def parse_args(argv: Optional[list] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Extract the online backbone of an mmselfemd '
        'checkpoint (backbone.* with the prefix stripped; EMA target, neck '
        'and head dropped).')
    parser.add_argument('src', help='mmselfemd pretraining checkpoint')
    parser.add_argument('dst', help='output file (.pth)')
    add_debug_argument(parser)
    return parser.parse_args(argv)


def run_converter(run, parse, path: str) -> None:
    """A converter's command line: bad input ends in one paragraph.

    Args:
        run (callable): The conversion, given the parsed arguments.
        parse (callable): The converter's ``parse_args``.
        path (str): The converter file (``__file__``), named in the report.
    """
    args = parse()
    run_cli(lambda: run(args), f'tools/model_converters/{osp.basename(path)}',
            args.debug)


def main(argv: Optional[list] = None) -> None:
    """Entry point (errors raise; the command line reports them)."""
    run(parse_args(argv))


def run(args: argparse.Namespace) -> None:
    """Extract the backbone of ``args.src`` into ``args.dst``."""
    ckpt = load_checkpoint_file(args.src)
    backbone, meta = extract_backbone(ckpt, args.src)
    out = dict(
        state_dict=backbone,
        meta=build_meta(args.src, meta, 'extract_backbone_weights'))
    dst_dir = osp.dirname(osp.abspath(args.dst))
    os.makedirs(dst_dir, exist_ok=True)
    torch.save(out, args.dst)
    print(f'Saved {len(backbone)} online backbone tensors of {args.src} '
          f'to {args.dst}')


if __name__ == '__main__':
    run_converter(run, parse_args, __file__)
