# Copyright (c) mmselfemd contributors. All rights reserved.
"""Draw a multi-view sample: where each view comes from, and the view.

One row per large view ``k``: the source image with the box of view ``k``,
the spatial-pyramid grid inside it and the boxes of the small views cut
from it; then view ``k`` as the model receives it; then those small views.
Every view has its own colour, used for its box on the source image and
for the frame of its picture.
"""
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import mmcv
import numpy as np
from mmengine.visualization import Visualizer

from mmselfemd.registry import VISUALIZERS

#: Colours (RGB) of the large views, then of the small views: saturated and
#: far apart, so that each box can be told from the others and from grey.
LARGE_VIEW_COLORS = ((230, 25, 75), (0, 90, 230), (145, 30, 180),
                     (0, 150, 150))
SMALL_VIEW_COLORS = ((255, 140, 0), (40, 190, 60), (240, 50, 230),
                     (255, 225, 25), (120, 70, 20), (0, 0, 128),
                     (128, 128, 0), (250, 190, 190))


@dataclass
class Panel:
    """Where a picture lies on the drawn canvas.

    Attributes:
        kind (str): ``'source'`` (the source image of a row) or ``'view'``.
        view (int): The view shown; for a source panel, the large view the
            row is about.
        box (tuple[int, int, int, int]): ``x1, y1, x2, y2`` on the canvas.
        scale (float): Canvas pixels per source pixel (source panels) or
            per view pixel (view panels).
    """

    kind: str
    view: int
    box: Tuple[int, int, int, int]
    scale: float


def view_colors(parent: Sequence[int]) -> List[Tuple[int, int, int]]:
    """The colour of each view: large views first palette, small second."""
    colors, n_large, n_small = [], 0, 0
    for p in parent:
        if p < 0:
            colors.append(LARGE_VIEW_COLORS[n_large % len(LARGE_VIEW_COLORS)])
            n_large += 1
        else:
            colors.append(SMALL_VIEW_COLORS[n_small % len(SMALL_VIEW_COLORS)])
            n_small += 1
    return colors


def _fit(img: np.ndarray, height: int, max_width: int) -> np.ndarray:
    """Resize to ``height`` (or ``max_width``), keeping the aspect."""
    h, w = img.shape[:2]
    scale = min(height / h, max_width / w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = 'area' if scale < 1 else 'bicubic'
    return mmcv.imresize(img, size, interpolation=interp)


@VISUALIZERS.register_module()
class MultiViewVisualizer(Visualizer):
    """Visualizer of multi-view samples (``MultiViewWithBoxes`` output).

    Uses mmengine's drawing primitives (``draw_bboxes``, ``draw_lines``,
    ``draw_texts``) on one canvas that holds all panels.

    Args:
        name (str): Instance name. Defaults to 'visualizer'.
        cell_size (int): Height of every panel in canvas pixels; views are
            shown ``cell_size`` wide too. Defaults to 224.
        max_source_width (int): Widest source panel. Defaults to 448.
        **kwargs: Other arguments of :class:`mmengine.visualization.
            Visualizer` (``vis_backends``, ``save_dir`` ...).
    """

    title_height = 30
    margin = 8

    def __init__(self,
                 name: str = 'visualizer',
                 cell_size: int = 224,
                 max_source_width: int = 448,
                 **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.cell_size = cell_size
        self.max_source_width = max_source_width

    def _layout(self, source: np.ndarray, views: Sequence[np.ndarray],
                parent: np.ndarray) -> Tuple[np.ndarray, List[Panel]]:
        """Place the panels on a white canvas; no drawing yet."""
        cell, m, t = self.cell_size, self.margin, self.title_height
        src = _fit(source, cell, self.max_source_width)
        src_scale = src.shape[1] / source.shape[1]
        rows = [k for k in range(len(parent)) if parent[k] < 0]
        fitted = [_fit(v, cell, cell) for v in views]
        row_h = t + cell + m
        panels, pictures = [], []
        width = 0
        for r, k in enumerate(rows):
            y1 = m + r * row_h + t
            x = m
            members = [k] + [i for i in range(len(parent)) if parent[i] == k]
            for kind, idx, img, scale in [('source', k, src, src_scale)] + [
                ('view', i, fitted[i], fitted[i].shape[1] / views[i].shape[1])
                    for i in members
            ]:
                h, w = img.shape[:2]
                panels.append(Panel(kind, idx, (x, y1, x + w, y1 + h),
                                    scale))
                pictures.append(img)
                x += w + m
            width = max(width, x)
        canvas = np.full((m + len(rows) * row_h, width, 3), 255, np.uint8)
        for panel, img in zip(panels, pictures):
            x1, y1, x2, y2 = panel.box
            canvas[y1:y2, x1:x2] = img
        return canvas, panels

    def draw_multi_view(
            self,
            source: np.ndarray,
            views: Sequence[np.ndarray],
            crop_boxes: np.ndarray,
            flips: np.ndarray,
            parent: np.ndarray,
            grid_sizes: Sequence[int] = (),
    ) -> Tuple[np.ndarray, List[Panel]]:
        """Draw the crop layout of one sample beside its views.

        Args:
            source (np.ndarray): ``(H, W, 3)`` uint8 RGB source image, the
                frame of ``crop_boxes``.
            views (Sequence[np.ndarray]): V ``(h, w, 3)`` uint8 RGB views.
            crop_boxes (np.ndarray): ``(V, 4)`` ``x1, y1, x2, y2`` per view,
                source pixels.
            flips (np.ndarray): ``(V,)`` bool, view mirrored left-right.
            parent (np.ndarray): ``(V,)`` parent large view, -1 for large.
            grid_sizes (Sequence[int]): Spatial-pyramid levels drawn inside
                each large box (e.g. ``(2, 3)``). Defaults to ().

        Returns:
            tuple[np.ndarray, list[Panel]]: The drawn RGB canvas and where
            each panel lies on it.
        """
        crop_boxes = np.asarray(crop_boxes, np.float64).reshape(-1, 4)
        parent = np.asarray(parent).reshape(-1)
        flips = np.asarray(flips, bool).reshape(-1)
        if not len(views) == len(crop_boxes) == len(parent) == len(flips):
            raise ValueError(
                f'{len(views)} views but {len(crop_boxes)} crop boxes, '
                f'{len(flips)} flips and {len(parent)} parents')
        if not (parent < 0).any():
            raise ValueError('no large view (parent -1) in the sample')
        canvas, panels = self._layout(source, views, parent)
        self.set_image(canvas)
        colors = view_colors(parent)
        badge = dict(facecolor='black', alpha=0.7, pad=1, edgecolor='none')
        for panel in panels:
            x1, y1, x2, y2 = panel.box
            i = panel.view
            if panel.kind == 'view':
                self.draw_bboxes(
                    np.array([[x1 - 2, y1 - 2, x2 + 2, y2 + 2]]),
                    edge_colors=colors[i], line_widths=3, alpha=1.0)
                role = 'large' if parent[i] < 0 else \
                    f'small, in view {parent[i]}'
                title = f'view {i}: {role}' + (', flipped' if flips[i]
                                               else '')
                title += f'\n{views[i].shape[1]}x{views[i].shape[0]} px'
                self._title(title, x1, y1)
                continue
            self._draw_source_panel(panel, crop_boxes, parent, colors,
                                    grid_sizes, badge)
            box = crop_boxes[i].round().astype(int).tolist()
            self._title(
                f'source {source.shape[1]}x{source.shape[0]} px\n'
                f'view {i} box {box}', x1, y1)
        return self.get_image(), panels

    def _title(self, text: str, x: int, y: int) -> None:
        self.draw_texts(
            text,
            np.array([x, y - 3]),
            font_sizes=8,
            colors='black',
            vertical_alignments='bottom')

    def _draw_source_panel(self, panel: Panel, crop_boxes: np.ndarray,
                           parent: np.ndarray, colors: list,
                           grid_sizes: Sequence[int], badge: dict) -> None:
        """The row's large box, its pyramid grid and its small boxes."""
        k = panel.view
        ox, oy = panel.box[:2]
        to_canvas = crop_boxes * panel.scale + np.array([ox, oy, ox, oy])
        x1, y1, x2, y2 = to_canvas[k]
        # pyramid grid: one line style per level
        for level, g in enumerate(grid_sizes):
            style = ('-', '--', ':')[level % 3]
            cuts = np.arange(1, g) / g
            if not len(cuts):
                continue
            xs = x1 + (x2 - x1) * cuts
            ys = y1 + (y2 - y1) * cuts
            self.draw_lines(
                np.concatenate([np.stack([xs, xs], 1),
                                np.tile([[x1, x2]], (len(ys), 1))]),
                np.concatenate([np.tile([[y1, y2]], (len(xs), 1)),
                                np.stack([ys, ys], 1)]),
                colors=colors[k], line_styles=style, line_widths=1)
            # below the boxes (mmengine's line collections would be drawn
            # over its box polygons), above the image
            self.ax_save.collections[-1].set_zorder(0.5)
        children = [i for i in range(len(parent)) if parent[i] == k]
        self.draw_bboxes(
            to_canvas[[k] + children],
            edge_colors=[colors[i] for i in [k] + children],
            line_widths=[3] + [2] * len(children),
            alpha=1.0)
        self.draw_texts(
            [f'v{k}'] + [f'v{i}' for i in children],
            np.array([[x1 + 4, y1 + 4]] + [[(to_canvas[i, 0] + to_canvas[
                i, 2]) / 2, (to_canvas[i, 1] + to_canvas[i, 3]) / 2]
                                           for i in children]),
            font_sizes=7,
            colors='white',
            vertical_alignments=['top'] + ['center'] * len(children),
            horizontal_alignments=['left'] + ['center'] * len(children),
            bboxes=badge)
