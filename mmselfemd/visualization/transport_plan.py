# Copyright (c) mmselfemd contributors. All rights reserved.
"""The EMD transport plan between two views of one image, and its picture.

:func:`compute_transport_plan` matches the online prediction map of view A
with the target projection map of view B exactly as ``SpatialEMDHead``
does in training (its node weights, ε, iterations and solver options);
:func:`draw_transport_plan` draws the plan: the two crop boxes on the
source image, and lines that join the centres of two patches exchanging
mass, thicker for more mass. ``tools/analysis_tools/visualize_transport.py``
is the command line around them.
"""
from typing import Sequence, Tuple

import numpy as np
import torch
from PIL import Image


def crop_view(img: np.ndarray, box: Sequence[float], flip: bool,
              size: Tuple[int, int]) -> np.ndarray:
    """Cut a view from the image without colour augmentation.

    Args:
        img (np.ndarray): The source image, ``(H, W, 3)`` uint8 RGB.
        box (Sequence[float]): ``x1, y1, x2, y2`` in source pixels.
        flip (bool): Mirror the view left-right.
        size (tuple[int, int]): Output ``(h, w)``.

    Returns:
        np.ndarray: ``(h, w, 3)`` uint8 RGB.
    """
    x1, y1, x2, y2 = [int(round(v)) for v in box]
    crop = Image.fromarray(img[y1:y2, x1:x2]).resize((size[1], size[0]),
                                                     Image.BICUBIC)
    view = np.asarray(crop)
    return view[:, ::-1].copy() if flip else view


@torch.no_grad()
def compute_transport_plan(model, view_a: np.ndarray,
                           view_b: np.ndarray) -> tuple:
    """Online prediction of A vs target projection of B, as in training.

    Args:
        model (SelfEMD): A built ``SelfEMD`` in eval mode.
        view_a (np.ndarray): ``(h, w, 3)`` uint8 RGB view A.
        view_b (np.ndarray): ``(h, w, 3)`` uint8 RGB view B.

    Returns:
        tuple: plan ``(N, M)`` (np.ndarray, sums to 1), shape of map A,
        shape of map B, EMD similarity ``S`` (float).
    """
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
    # the head's own similarity: its weights, ε, iterations and solver
    res = model.head.similarity(online, target, return_plan=True)
    plan, sim = res.plan, float(res.similarity[0])
    return (plan[0].cpu().numpy(), tuple(online.shape[-2:]),
            tuple(target.shape[-2:]), sim)


def draw_transport_plan(img: np.ndarray, boxes: Sequence, views: Sequence,
                        plan: np.ndarray, shape_a: Tuple[int, int],
                        shape_b: Tuple[int, int], sim: float,
                        top_k: int = 0):
    """Draw the crop boxes and the transport plan between two views.

    Args:
        img (np.ndarray): Source image, ``(H, W, 3)`` uint8 RGB.
        boxes (Sequence): The two crop boxes ``x1, y1, x2, y2``.
        views (Sequence): The two views, ``(h, w, 3)`` uint8 RGB.
        plan (np.ndarray): ``(N, M)`` transport plan, row-major nodes.
        shape_a (tuple[int, int]): Node grid of view A (rows, cols).
        shape_b (tuple[int, int]): Node grid of view B.
        sim (float): The EMD similarity, for the title.
        top_k (int): Draw the ``top_k`` heaviest matches; 0 draws the
            heaviest match of every node of A. Defaults to 0.

    Returns:
        matplotlib.figure.Figure: The figure (Agg backend); save it with
        ``fig.savefig`` and close it with ``plt.close(fig)``.
    """
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
    return fig
