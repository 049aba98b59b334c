# Copyright (c) mmselfemd contributors. All rights reserved.
from typing import List, Optional, Union

import numpy as np
from mmcv.transforms import BaseTransform, Compose

from mmselfemd.registry import TRANSFORMS

from .box_utils import current_crop_box

_PER_VIEW_KEYS = ('flip', 'flip_direction', 'parent_box')


@TRANSFORMS.register_module()
class MultiViewWithBoxes(BaseTransform):
    """Large views plus small views, keeping each view's box and flip.

    Like mmpretrain's ``MultiView`` (same ``transforms`` / ``num_views``
    arguments for the large views), but every view also reports where it
    came from, which ``MultiView`` drops:

    1. Large views: pipeline ``k`` runs ``num_views[k]`` times on a shallow
       copy of the input (the decoded image is shared, so the first
       transform of each pipeline must not modify ``img`` in place; all
       mmcv/mmpretrain crops return new arrays). The pipeline must contain
       a crop that updates ``crop_box``, e.g. ``RandomResizedCropWithBox``.
    2. Small views (optional): for each large view, ``small_view_crop``
       (e.g. ``SpatialPyramidCrop``) cuts views inside that large view's
       box from the decoded image; ``small_view_transforms`` (flip, colour
       ...) then run on each small view.

    **Required Keys:** ``img`` (and ``crop_box`` from ``LoadImageRobust``
    when the image was decoded at reduced size).

    **Modified Keys:** ``img`` becomes a list of V views (large ones first,
    then the small views of large view 0, of large view 1, ...).

    **Added Keys:**

    - crop_boxes (np.ndarray): float32 ``(V, 4)``, ``x1, y1, x2, y2`` of
      each view's region in original-image pixels (right/bottom exclusive),
      before any flip.
    - flips (np.ndarray): bool ``(V,)``, whether the view was mirrored
      horizontally (its content is the box's region left-right flipped).
    - parent (np.ndarray): int64 ``(V,)``, index of the large view a small
      view was cut from, -1 for large views.

    Args:
        transforms (list[list[dict | callable]]): Large-view pipelines.
        num_views (int | list[int]): Views per large-view pipeline.
        small_view_crop (dict | callable, optional): A transform that reads
            ``img``, ``crop_box`` and ``parent_box`` and returns lists in
            ``img`` and ``crop_box``. Defaults to None (no small views).
        small_view_transforms (list[dict | callable], optional): Pipeline
            applied to every small view after cropping. Defaults to None.
    """

    def __init__(self,
                 transforms: List[list],
                 num_views: Union[int, List[int]],
                 small_view_crop: Optional[Union[dict, callable]] = None,
                 small_view_transforms: Optional[list] = None) -> None:
        if isinstance(num_views, int):
            num_views = [num_views]
        if len(num_views) != len(transforms):
            raise ValueError(
                f'MultiViewWithBoxes: num_views {num_views} must have one '
                f'entry per pipeline ({len(transforms)} pipelines given)')
        self.num_views = list(num_views)
        self.pipelines = [Compose(self._build(t)) for t in transforms]
        self.large_transforms = []
        for pipeline, n in zip(self.pipelines, self.num_views):
            self.large_transforms.extend([pipeline] * n)
        if isinstance(small_view_crop, dict):
            small_view_crop = TRANSFORMS.build(small_view_crop)
        self.small_view_crop = small_view_crop
        self.small_pipeline = Compose(self._build(small_view_transforms))

    @staticmethod
    def _build(transforms: Optional[list]) -> list:
        # Build dicts with mmselfemd's registry so that this package's
        # transforms resolve even without a default scope.
        return [
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in (transforms or [])
        ]

    @staticmethod
    def _view_record(out: dict, where: str):
        direction = out.get('flip_direction')
        flipped = bool(out.get('flip', False))
        if flipped and direction not in (None, 'horizontal'):
            raise ValueError(
                f'MultiViewWithBoxes: {where} was flipped with direction '
                f"{direction!r}; only 'horizontal' flips are supported, so "
                'that crop_boxes + flips describe each view exactly. Use '
                "RandomFlip(direction='horizontal').")
        return out['img'], current_crop_box(out), flipped

    def _fresh(self, results: dict) -> dict:
        view = dict(results)
        for key in _PER_VIEW_KEYS:
            view.pop(key, None)
        return view

    def transform(self, results: dict) -> Optional[dict]:
        """Produce all views with their boxes, flips and parents."""
        imgs, boxes, flips, parents = [], [], [], []
        for k, pipeline in enumerate(self.large_transforms):
            out = pipeline(self._fresh(results))
            if out is None:
                return None
            img, box, flip = self._view_record(out, f'large view {k}')
            imgs.append(img)
            boxes.append(box)
            flips.append(flip)
            parents.append(-1)
        if self.small_view_crop is not None:
            for p in range(len(self.large_transforms)):
                spc_in = self._fresh(results)
                spc_in['parent_box'] = boxes[p]
                spc = self.small_view_crop(spc_in)
                if spc is None:
                    return None
                for img, box in zip(spc['img'], spc['crop_box']):
                    view = self._fresh(results)
                    view.update(img=img, crop_box=box, img_shape=img.shape[:2])
                    out = self.small_pipeline(view)
                    if out is None:
                        return None
                    img, box, flip = self._view_record(
                        out, f'small view of large view {p}')
                    imgs.append(img)
                    boxes.append(box)
                    flips.append(flip)
                    parents.append(p)
        results['img'] = imgs
        results['crop_boxes'] = np.stack(boxes).astype(np.float32)
        results['flips'] = np.array(flips, dtype=bool)
        results['parent'] = np.array(parents, dtype=np.int64)
        for key in ('img_shape', ) + _PER_VIEW_KEYS:
            results.pop(key, None)
        results.pop('crop_box', None)
        return results

    def __repr__(self) -> str:
        repr_str = self.__class__.__name__ + '('
        for i, p in enumerate(self.pipelines):
            repr_str += (f'\nPipeline {i + 1} with {self.num_views[i]} '
                         f'views:\n{p}')
        repr_str += f'\nsmall_view_crop={self.small_view_crop}'
        repr_str += f'\nsmall_view_transforms={self.small_pipeline})'
        return repr_str
