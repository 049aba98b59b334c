# Copyright (c) mmselfemd contributors. All rights reserved.
from typing import List, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmselfemd.registry import TRANSFORMS

from .box_utils import current_crop_box, img_to_original, original_to_img


@TRANSFORMS.register_module()
class SpatialPyramidCrop(BaseTransform):
    """Spatial Pyramid Cropping (SPC): small views from a parent view.

    The parent view's region (``results['parent_box']``, original-image
    pixels) is split on each grid of a spatial pyramid (by default 2x2 and
    3x3 cells). ``num_views`` distinct cells are drawn without replacement,
    each level being equally likely (a cell of an ``n x n`` grid has weight
    ``1 / (n^2 * num_levels)``), cut from ``results['img']`` (normally the
    full decoded image, so the small views keep the original resolution)
    and resized to ``size``. Every small view's content therefore lies
    inside its parent view. This is our reading of the Self-EMD summaries'
    "SPC"; the grid sizes, the number of views and the level weighting are
    our choices.

    **Required Keys:** ``img``, ``parent_box``; optional ``crop_box`` (the
    region ``img`` covers; the whole image when absent).

    **Modified Keys:** ``img`` (a list of ``num_views`` arrays),
    ``crop_box`` (a list of float32 ``[x1, y1, x2, y2]`` boxes in original
    pixels), ``img_shape``.

    Args:
        size (int | Sequence[int]): Output size, int or ``(h, w)``.
            Defaults to 96.
        grid_sizes (Sequence[int]): Pyramid levels, e.g. ``(2, 3)``.
        num_views (int): Small views per parent. Defaults to 2.
        interpolation (str): Interpolation when a cell is enlarged.
            Defaults to 'bicubic'.
        downscale_interpolation (str, optional): Interpolation when a cell
            is shrunk along both sides. Defaults to 'area'.
        backend (str): mmcv resize backend. Defaults to 'cv2'.
    """

    #: Sets ``results['crop_box']`` (checked by ``MultiViewWithBoxes``).
    records_crop_box = True

    def __init__(self,
                 size: Union[int, Sequence[int]] = 96,
                 grid_sizes: Sequence[int] = (2, 3),
                 num_views: int = 2,
                 interpolation: str = 'bicubic',
                 downscale_interpolation: Optional[str] = 'area',
                 backend: str = 'cv2') -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        if len(self.size) != 2 or min(self.size) <= 0:
            raise ValueError(f'SpatialPyramidCrop: size must be a positive '
                             f'int or (h, w), got {size!r}')
        if not grid_sizes or any(
                int(g) != g or g < 1 for g in grid_sizes):
            raise ValueError(f'SpatialPyramidCrop: grid_sizes must be '
                             f'positive ints, got {grid_sizes!r}')
        self.grid_sizes = tuple(int(g) for g in grid_sizes)
        self.cells = [(g, i, j) for g in self.grid_sizes for i in range(g)
                      for j in range(g)]
        weights = np.array([1.0 / (g * g) for g, _, _ in self.cells])
        self.cell_probs = weights / weights.sum()
        if not 1 <= num_views <= len(self.cells):
            raise ValueError(
                f'SpatialPyramidCrop: num_views must be in [1, '
                f'{len(self.cells)}] for grid_sizes={self.grid_sizes}, got '
                f'{num_views}')
        self.num_views = num_views
        self.interpolation = interpolation
        self.downscale_interpolation = downscale_interpolation
        self.backend = backend

    @cache_randomness
    def sample_cells(self) -> List[Tuple[int, int, int]]:
        """Draw ``num_views`` distinct ``(grid, row, col)`` cells."""
        idx = np.random.choice(
            len(self.cells), self.num_views, replace=False,
            p=self.cell_probs)
        return [self.cells[i] for i in idx]

    def transform(self, results: dict) -> dict:
        """Cut the small views of ``results['parent_box']``."""
        img = results['img']
        img_h, img_w = img.shape[:2]
        crop_box = current_crop_box(results)
        parent = np.asarray(results['parent_box'], np.float64)
        # Parent in img pixels, rounded inwards so that every cell stays
        # inside it (boxes of RandomResizedCropWithBox on the same img are
        # whole pixels already).
        fx1, fy1, fx2, fy2 = original_to_img(crop_box, (img_h, img_w), parent)
        px1, py1 = np.ceil(fx1 - 1e-3), np.ceil(fy1 - 1e-3)
        px2, py2 = np.floor(fx2 + 1e-3), np.floor(fy2 + 1e-3)
        px1, py1 = max(px1, 0), max(py1, 0)
        px2, py2 = min(px2, img_w), min(py2, img_h)
        if px2 - px1 < 1 or py2 - py1 < 1:
            raise ValueError(
                f'SpatialPyramidCrop: parent_box {parent.tolist()} does not '
                f'overlap the image region {crop_box.tolist()}')
        out_h, out_w = self.size
        views, boxes = [], []
        for g, i, j in self.sample_cells():
            x1 = int(round(px1 + (px2 - px1) * j / g))
            x2 = max(int(round(px1 + (px2 - px1) * (j + 1) / g)), x1 + 1)
            y1 = int(round(py1 + (py2 - py1) * i / g))
            y2 = max(int(round(py1 + (py2 - py1) * (i + 1) / g)), y1 + 1)
            x2, y2 = min(x2, int(px2)), min(y2, int(py2))
            x1, y1 = min(x1, x2 - 1), min(y1, y2 - 1)
            interpolation = self.interpolation
            if (self.downscale_interpolation is not None
                    and y2 - y1 >= out_h and x2 - x1 >= out_w):
                interpolation = self.downscale_interpolation
            views.append(
                mmcv.imresize(
                    img[y1:y2, x1:x2], (out_w, out_h),
                    interpolation=interpolation,
                    backend=self.backend))
            boxes.append(
                img_to_original(crop_box, (img_h, img_w), (x1, y1, x2, y2)))
        results['img'] = views
        results['crop_box'] = boxes
        results['img_shape'] = (out_h, out_w)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'grid_sizes={self.grid_sizes}, num_views={self.num_views}, '
                f"interpolation='{self.interpolation}', "
                f'downscale_interpolation={self.downscale_interpolation!r}, '
                f"backend='{self.backend}')")
