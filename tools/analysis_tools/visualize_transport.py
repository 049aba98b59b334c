# Copyright (c) mmselfemd contributors. All rights reserved.
"""Draw the EMD transport plan between two views of one image.

Two large views are cropped from IMAGE exactly as the config's training
pipeline crops them (random crop boxes and flips), shown without colour
augmentation. The online prediction map of view A and the target projection
map of view B are matched as in training (the head's node weights, ε and
iterations); a line joins the centres of two patches that exchange mass,
thicker for more mass. The top panel shows both crop boxes on the image.
The computation and the drawing are in
``mmselfemd/visualization/transport_plan.py``.

Usage::

    python tools/analysis_tools/visualize_transport.py CONFIG CHECKPOINT \
        IMAGE [--out-file transport.png] [--seed 0] [--top-k 40]
"""
import argparse
import os
import os.path as osp
import sys


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='pretraining config file')
    parser.add_argument('checkpoint', help='SelfEMD checkpoint')
    parser.add_argument('image', help='image file')
    parser.add_argument(
        '--out-file', default='transport_plan.png', help='output PNG')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the crop sampling')
    parser.add_argument(
        '--top-k', type=int, default=0,
        help='draw the K heaviest matches; 0 (default) draws the heaviest '
        'match of every node of view A')
    parser.add_argument(
        '--device', default='cpu', help='device to run the model on')
    return parser.parse_args(argv)


def main(argv=None) -> str:
    args = parse_args(argv)
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))))
    import matplotlib.pyplot as plt
    from mmcv.transforms import Compose
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.runner import load_checkpoint

    from mmselfemd.registry import MODELS
    from mmselfemd.utils import register_all_modules
    from mmselfemd.visualization import (
        compute_transport_plan,
        crop_view,
        draw_transport_plan,
        sample_multi_view,
    )

    # also sets up weights-only loading of older checkpoints
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    if cfg.model.get('type') != 'SelfEMD':
        raise ValueError(f'{args.config}: model type is '
                         f'{cfg.model.get("type")!r}, expected SelfEMD')
    # SyncBN needs a process group and a GPU: use plain BN (mmengine's
    # revert keeps the weights and handles 1-d and 2-d inputs)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    model.to(args.device).eval()

    # the crop boxes and flips of the two large views, as the training
    # pipeline draws them; the views are re-cut without colour jitter
    sample = sample_multi_view(
        Compose(cfg.train_dataloader.dataset.pipeline), args.image,
        seed=args.seed)
    img, boxes, flips = sample.source, sample.crop_boxes[:2], sample.flips[:2]
    size = sample.views[0].shape[:2]
    views = [crop_view(img, b, f, size) for b, f in zip(boxes, flips)]
    plan, shape_a, shape_b, sim = compute_transport_plan(model, *views)
    fig = draw_transport_plan(img, boxes, views, plan, shape_a, shape_b, sim,
                              args.top_k)
    os.makedirs(osp.dirname(osp.abspath(args.out_file)), exist_ok=True)
    fig.savefig(args.out_file)
    plt.close(fig)
    print(f'transport plan written to {args.out_file} (S = {sim:.3f})')
    return args.out_file


if __name__ == '__main__':
    main()
