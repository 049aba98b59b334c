# Copyright (c) mmselfemd contributors. All rights reserved.
"""Draw the EMD transport plan between two views of one image.

Two large views are cropped from IMAGE exactly as the config's training
pipeline crops them (random crop boxes and flips), shown without colour
augmentation. The online prediction map of view A and the target projection
map of view B are matched as in training (the head's node weights, ε and
iterations); a line joins the centres of two patches that exchange mass,
thicker for more mass. The top panel shows both crop boxes on the image.

Usage::

    python tools/analysis_tools/visualize_transport.py CONFIG CHECKPOINT \
        IMAGE [--out-file transport.png] [--seed 0] [--top-k 40]
"""
import argparse
import os
import os.path as osp
import sys

import numpy as np
import torch


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


def sample_views(cfg, image: str, seed: int) -> tuple:
    """Crop boxes and flips of the two large views, as the pipeline draws
    them, and the decoded image (RGB) they refer to."""
    from mmcv.transforms import Compose
    from mmengine.registry import init_default_scope
    init_default_scope('mmselfemd')
    np.random.seed(seed)
    torch.manual_seed(seed)
    import random
    random.seed(seed)
    pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
    out = pipeline(dict(img_path=image, sample_idx=0))
    if out is None:
        raise ValueError(f'could not read image "{image}"')
    sample = out['data_samples']
    boxes = sample.crop_boxes[:2].numpy()
    flips = sample.flips[:2].numpy()
    size = out['inputs'][0].shape[-2:]
    from PIL import Image, ImageOps
    img = ImageOps.exif_transpose(Image.open(image)).convert('RGB')
    return np.asarray(img), boxes, flips, tuple(size)


def crop_view(img: np.ndarray, box: np.ndarray, flip: bool,
              size: tuple) -> np.ndarray:
    """Cut a view from the image (no colour augmentation), RGB uint8."""
    from PIL import Image
    x1, y1, x2, y2 = [int(round(v)) for v in box]
    crop = Image.fromarray(img[y1:y2, x1:x2]).resize(
        (size[1], size[0]), Image.BICUBIC)
    view = np.asarray(crop)
    return view[:, ::-1].copy() if flip else view


@torch.no_grad()
def transport_plan(model, view_a: np.ndarray, view_b: np.ndarray) -> tuple:
    """Online prediction of A vs target projection of B, as in training.

    Returns:
        tuple: plan (N, M), shape of map A, shape of map B, similarity.
    """
    from mmselfemd.models.utils import (
        cosine_cost,
        cross_reference_weights,
        sinkhorn,
        uniform_weights,
    )
    device = next(model.parameters()).device
    # the preprocessor expects collated views: a list of (B, 3, H, W)
    # BGR uint8 batches, one per view
    inputs = [
        torch.from_numpy(v[..., ::-1].copy()).permute(2, 0, 1)[None].to(
            device) for v in (view_a, view_b)
    ]
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=None))
    a_in, b_in = data['inputs']
    online = model.head.predict(model.neck(model.backbone(a_in))[0])
    target_modules = model.target_net.module
    target = target_modules[1](target_modules[0](b_in))[0]
    x = online.flatten(2).transpose(1, 2)
    y = target.flatten(2).transpose(1, 2)
    if model.head.weights == 'uniform':
        wa, wb = uniform_weights(x), uniform_weights(y)
    else:
        wa, wb = cross_reference_weights(x, y), cross_reference_weights(y, x)
    cost = cosine_cost(x, y)
    plan = sinkhorn(cost, wa, wb, eps=model.head.eps,
                    num_iters=model.head.num_iters, **model.head.solver_cfg)
    sim = float(((1 - cost) * plan).sum())
    return (plan[0].cpu().numpy(), tuple(online.shape[-2:]),
            tuple(target.shape[-2:]), sim)


def draw(img, boxes, views, plan, shape_a, shape_b, sim, top_k,
         out_file) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import ConnectionPatch, Rectangle

    fig = plt.figure(figsize=(10, 9), dpi=110)
    ax_img = fig.add_axes([0.25, 0.52, 0.5, 0.44])
    ax_a = fig.add_axes([0.03, 0.03, 0.45, 0.45])
    ax_b = fig.add_axes([0.52, 0.03, 0.45, 0.45])
    ax_img.imshow(img)
    colors = ('tab:red', 'tab:blue')
    for box, c, name in zip(boxes, colors, ('view A', 'view B')):
        x1, y1, x2, y2 = box
        ax_img.add_patch(
            Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, lw=2, ec=c))
        ax_img.text(x1 + 3, y1 + 12, name, color='white', fontsize=9,
                    bbox=dict(fc=c, ec='none', alpha=0.8, pad=1))
    ax_img.set_title(
        f'EMD similarity S = {sim:.3f}; lines: transport plan from the '
        'online prediction of A to the target projection of B',
        fontsize=9)
    for ax, view, shape, c, name in ((ax_a, views[0], shape_a, colors[0],
                                      'A (online)'),
                                     (ax_b, views[1], shape_b, colors[1],
                                      'B (target)')):
        ax.imshow(view)
        h, w = view.shape[:2]
        for k in range(1, shape[0]):
            ax.axhline(k * h / shape[0], color='white', lw=0.5, alpha=0.6)
        for k in range(1, shape[1]):
            ax.axvline(k * w / shape[1], color='white', lw=0.5, alpha=0.6)
        for spine in ax.spines.values():
            spine.set_edgecolor(c)
            spine.set_linewidth(3)
        ax.set_title(f'view {name}: {shape[0]}x{shape[1]} nodes',
                     fontsize=9)
    for ax in (ax_img, ax_a, ax_b):
        ax.set_xticks([])
        ax.set_yticks([])

    def centre(idx, shape, view):
        r, c = divmod(int(idx), shape[1])
        h, w = view.shape[:2]
        return ((c + 0.5) * w / shape[1], (r + 0.5) * h / shape[0])

    flat = plan.ravel()
    if top_k > 0:
        order = np.argsort(flat)[::-1][:top_k]
        what = f'the {len(order)} heaviest of {plan.size} matches'
    else:
        order = np.arange(plan.shape[0]) * plan.shape[1] + plan.argmax(1)
        what = 'the heaviest match of each node of A'
    order = order[np.argsort(flat[order])]  # heaviest drawn last, on top
    lo, hi = flat[order[0]], flat[order[-1]]
    cmap = plt.get_cmap('plasma')
    for idx in order:
        i, j = divmod(int(idx), plan.shape[1])
        # thickness and colour span the range of the drawn masses
        mass = (flat[idx] - lo) / max(hi - lo, 1e-12)
        con = ConnectionPatch(
            xyA=centre(i, shape_a, views[0]), coordsA='data', axesA=ax_a,
            xyB=centre(j, shape_b, views[1]), coordsB='data', axesB=ax_b,
            color=cmap(0.15 + 0.8 * mass), lw=0.5 + 4.5 * mass, alpha=0.85)
        fig.add_artist(con)
    fig.text(0.5, 0.005,
             f'Lines: {what}; thickness and colour = mass, from {lo:.4f} '
             f'(thin) to {hi:.4f} (thick) of a total of 1 (a uniform plan '
             f'gives {1 / plan.size:.4f} per match).', ha='center',
             fontsize=8)
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file)
    plt.close(fig)


def main(argv=None) -> str:
    args = parse_args(argv)
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))))
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.runner import load_checkpoint

    import mmselfemd  # noqa: F401  (weights-only checkpoint loading)
    from mmselfemd.registry import MODELS
    from mmselfemd.utils import register_all_modules

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

    img, boxes, flips, size = sample_views(cfg, args.image, args.seed)
    views = [crop_view(img, b, f, size) for b, f in zip(boxes, flips)]
    plan, shape_a, shape_b, sim = transport_plan(model, *views)
    draw(img, boxes, views, plan, shape_a, shape_b, sim, args.top_k,
         args.out_file)
    print(f'transport plan written to {args.out_file} (S = {sim:.3f})')
    return args.out_file


if __name__ == '__main__':
    main()
