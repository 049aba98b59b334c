# Copyright (c) mmselfemd contributors. All rights reserved.
from typing import Callable, Iterator, List, Optional, Union

import mmcv.transforms as mmcv_transforms
import mmpretrain.datasets.transforms as mmpretrain_transforms
import numpy as np
from mmcv.transforms import BaseTransform, Compose

from mmselfemd.registry import TRANSFORMS

from .box_utils import current_crop_box

_PER_VIEW_KEYS = ('flip', 'flip_direction', 'parent_box')

#: Transforms of mmcv / mmpretrain that change which region of the image a
#: view shows without recording it in ``crop_box``. A subclass that records
#: its box sets the class attribute ``records_crop_box = True``
#: (``RandomResizedCropWithBox``, ``SpatialPyramidCrop``).
REGION_CHANGING_TRANSFORMS = tuple(
    getattr(module, name)
    for module, names in [
        (mmcv_transforms, ('CenterCrop', 'Pad')),
        (mmpretrain_transforms,
         ('EfficientNetCenterCrop', 'EfficientNetRandomCrop',
          'MAERandomResizedCrop', 'RandomCrop', 'RandomResizedCrop',
          'RandomResizedCropAndInterpolationWithTwoPic', 'RandomTranslatePad',
          'Rotate', 'Shear', 'Translate')),
    ] for name in names if hasattr(module, name))
#: Transforms that resample the whole image: its region, and so its crop
#: box in original pixels, stay the same although its shape changes.
WHOLE_IMAGE_RESIZES = tuple(
    getattr(module, name)
    for module, names in [
        (mmcv_transforms, ('Resize', 'RandomResize', 'RandomChoiceResize')),
        (mmpretrain_transforms, ('ResizeEdge', )),
    ] for name in names if hasattr(module, name))


def _walk(transform) -> Iterator[Callable]:
    """Yield a transform and those nested in it (Compose, RandomApply...)."""
    yield transform
    children = getattr(transform, 'transforms', None)
    if isinstance(children, Compose):
        children = children.transforms
    if isinstance(children, (list, tuple)):
        for child in children:
            yield from _walk(child)


def _resizes_whole_image(transform) -> bool:
    """Whether a step is (or wraps) a whole-image resize."""
    return any(
        isinstance(t, WHOLE_IMAGE_RESIZES) for t in _walk(transform))


def _unrecorded_crop_message(where: str, name: str) -> str:
    """The error for a step that crops without recording its box."""
    return (f'MultiViewWithBoxes: {where} uses {name}, which changes the '
            'region of the image a view shows without recording it in '
            "results['crop_box']. crop_boxes would then cover the whole "
            'image, small views would be cut outside their large views and '
            'parent would be wrong. Use a crop that records its box, e.g. '
            "RandomResizedCropWithBox instead of mmpretrain's "
            'RandomResizedCrop (a custom transform records its box by '
            "setting results['crop_box'] and the class attribute "
            'records_crop_box = True).')


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

    A transform that changes the region a view shows without recording its
    box would make ``crop_boxes`` and ``parent`` silently wrong, so it is an
    error (``ValueError`` naming the transform): at build time for the
    crops, pads and geometric ops of mmcv and mmpretrain listed in
    :data:`REGION_CHANGING_TRANSFORMS` (also inside ``RandomApply`` /
    ``RandomChoice``), and while running for any transform that changes the
    image's shape without updating ``crop_box``, except the whole-image
    resizes of :data:`WHOLE_IMAGE_RESIZES` (also inside a wrapper).

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
        for k, pipeline in enumerate(self.pipelines):
            self._check_records_boxes(pipeline, f'large-view pipeline {k}')
        self.large_transforms = []
        for pipeline, n in zip(self.pipelines, self.num_views):
            self.large_transforms.extend([pipeline] * n)
        if isinstance(small_view_crop, dict):
            small_view_crop = TRANSFORMS.build(small_view_crop)
        self.small_view_crop = small_view_crop
        self.small_pipeline = Compose(self._build(small_view_transforms))
        self._check_records_boxes(self.small_pipeline,
                                  'small_view_transforms')

    @staticmethod
    def _check_records_boxes(pipeline: Compose, where: str) -> None:
        """Refuse known crops that do not record their box."""
        for transform in _walk(pipeline):
            if (isinstance(transform, REGION_CHANGING_TRANSFORMS)
                    and not getattr(transform, 'records_crop_box', False)):
                raise ValueError(
                    _unrecorded_crop_message(where,
                                             type(transform).__name__))

    @staticmethod
    def _run(pipeline: Compose, results: dict, where: str) -> Optional[dict]:
        """Run ``pipeline`` step by step, checking that crops record boxes.

        A step that changes the image's shape but leaves ``crop_box`` as
        it was (the same object) cropped or padded without recording it,
        unless it is a whole-image resize.
        """
        for transform in pipeline.transforms:
            shape = np.shape(results['img'])[:2]
            box = results.get('crop_box')
            results = transform(results)
            if results is None:
                return None
            if (np.shape(results['img'])[:2] != shape
                    and results.get('crop_box') is box
                    and not _resizes_whole_image(transform)):
                raise ValueError(
                    _unrecorded_crop_message(
                        where, f'{type(transform).__name__} (it changed the '
                        f'image from {tuple(shape)} to '
                        f"{tuple(np.shape(results['img'])[:2])} pixels)"))
        return results

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
        """``(img, crop box, flipped)`` of one view; only horizontal flips
        are accepted."""
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
        """A shallow copy of ``results`` without the per-view keys."""
        view = dict(results)
        for key in _PER_VIEW_KEYS:
            view.pop(key, None)
        return view

    def transform(self, results: dict) -> Optional[dict]:
        """Produce all views with their boxes, flips and parents."""
        imgs, boxes, flips, parents = [], [], [], []
        for k, pipeline in enumerate(self.large_transforms):
            out = self._run(pipeline, self._fresh(results), f'large view {k}')
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
                    out = self._run(self.small_pipeline, view,
                                    f'small view of large view {p}')
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
