# Copyright (c) mmselfemd contributors. All rights reserved.
"""Probe pretrained backbones without training a detector.

Frozen backbone, RoIAlign features (C4 + C5) of the labelled boxes and of
sampled background boxes, a linear classifier fitted on one COCO box file
and scored on another (:class:`mmselfemd.evaluation.RoIProbe`). Minutes on
a CPU instead of a detector fine-tuning; the transfer study
(``projects/transfer_study/docs/study_first.md``) reports how well its
ranking agrees with detection AP.

Usage::

    python tools/analysis_tools/roi_probe.py CHECKPOINT [CHECKPOINT ...] \
        --train-ann A.json --train-img DIR --val-ann B.json --val-img DIR \
        [--backbone-cfg depth=18 base_channels=32] [--out probe.json]

A CHECKPOINT is a pretraining checkpoint of ``tools/train.py`` (its
``backbone.*`` weights are used), an extracted backbone
(``tools/model_converters/extract_backbone_weights.py``), or ``random`` (a
randomly initialised backbone, the floor).
"""
import argparse
import json

import torch
from mmengine.config import DictAction

from mmselfemd.utils.user_errors import add_debug_argument, run_cli


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoints', nargs='+',
                        help='checkpoints to probe, or "random"')
    parser.add_argument('--train-ann', required=True,
                        help='COCO box file the classifier is fitted on')
    parser.add_argument('--train-img', required=True,
                        help='image folder of --train-ann')
    parser.add_argument('--val-ann', required=True,
                        help='COCO box file the classifier is scored on')
    parser.add_argument('--val-img', required=True,
                        help='image folder of --val-ann')
    parser.add_argument(
        '--backbone-cfg', nargs='+', action=DictAction, default={},
        help='mmpretrain ResNet arguments of the backbone as key=value '
        'pairs, e.g. depth=18 base_channels=32 stem_channels=32 (default: '
        'depth=50)')
    parser.add_argument('--img-scale', type=int, default=224,
                        help='longer image side (default 224)')
    parser.add_argument('--max-images', type=int, default=None,
                        help='at most this many images per split')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the background boxes and of random '
                        'init')
    parser.add_argument('--out', help='write the scores to this JSON file')
    add_debug_argument(parser)
    return parser.parse_args(argv)


def load_backbone(path: str, backbone_cfg: dict, seed: int):
    """An mmpretrain ResNet with the weights of ``path`` (or random)."""
    from mmengine.logging import MMLogger
    from mmpretrain.models import ResNet

    from mmselfemd.utils import load_checkpoint_safe
    torch.manual_seed(seed)
    backbone = ResNet(**backbone_cfg, out_indices=(3, ))
    if path == 'random':
        if not MMLogger.check_instance_created('roi_probe'):
            MMLogger.get_instance('roi_probe', log_level='WARNING')
        backbone.init_weights()
        return backbone
    ckpt = load_checkpoint_safe(path, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'checkpoint "{path}" holds no state dict')
    if any(k.startswith('backbone.') for k in state):
        state = {k[len('backbone.'):]: v for k, v in state.items()
                 if k.startswith('backbone.')}
    hint = 'pass the backbone it was trained with in --backbone-cfg'
    try:
        missing, unexpected = backbone.load_state_dict(state, strict=False)
    except RuntimeError as e:  # shape mismatches
        first = str(e).strip().splitlines()[1:2] or ['']
        raise ValueError(f'checkpoint "{path}" does not fit ResNet('
                         f'{backbone_cfg}): {first[0].strip()}; {hint}')
    if missing or unexpected:
        raise ValueError(
            f'checkpoint "{path}" does not fit ResNet({backbone_cfg}): '
            f'{len(missing)} missing keys (e.g. {missing[:3]}), '
            f'{len(unexpected)} unexpected (e.g. {unexpected[:3]}); {hint}')
    return backbone


def main(argv=None) -> None:
    """Entry point (errors raise; the command line reports them)."""
    run(parse_args(argv))


def run(args: argparse.Namespace) -> None:
    """Probe every checkpoint of ``args``."""
    from mmselfemd.evaluation import RoIProbe
    backbone_cfg = dict(depth=50)
    backbone_cfg.update(args.backbone_cfg)
    probe = RoIProbe(args.train_ann, args.train_img, args.val_ann,
                     args.val_img, img_scale=args.img_scale,
                     max_images=args.max_images, seed=args.seed)
    results = {}
    for path in args.checkpoints:
        backbone = load_backbone(path, backbone_cfg, args.seed)
        scores = probe.evaluate(backbone)
        results[path] = scores
        print(f'{path}: balanced acc {100 * scores["bacc"]:.2f} %, '
              f'acc {100 * scores["acc"]:.2f} %, fg acc '
              f'{100 * scores["fg_acc"]:.2f} % '
              f'({scores["num_val_rois"]} val RoIs)', flush=True)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=1)
        print(f'scores written to {args.out}')


if __name__ == '__main__':
    args = parse_args()
    run_cli(lambda: run(args), 'tools/analysis_tools/roi_probe.py',
            args.debug)
