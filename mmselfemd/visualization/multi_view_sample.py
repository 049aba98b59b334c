# Copyright (c) mmselfemd contributors. All rights reserved.
"""One multi-view training sample of an image, with its source image.

Runs a pretraining pipeline (``LoadImageRobust`` -> ``MultiViewWithBoxes``
-> ``PackMultiViewInputs``) on one image and returns what the drawing tools
need: the views as the model receives them (before normalisation), each
view's crop box, flip and parent, and the decoded source image in the frame
of the crop boxes (full size, EXIF orientation applied).
"""
import random
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import mmengine.fileio as fileio
import numpy as np
import torch
from mmcv.transforms import Compose

from mmselfemd.datasets.transforms import (
    MultiViewWithBoxes,
    decode_image_robust,
)


@dataclass
class MultiViewSample:
    """A packed multi-view sample, in arrays.

    Attributes:
        source (np.ndarray): ``(H, W, 3)`` uint8 RGB source image, the frame
            of ``crop_boxes``.
        views (list[np.ndarray]): V ``(h, w, 3)`` uint8 RGB views as the
            model receives them (augmented, before normalisation).
        crop_boxes (np.ndarray): ``(V, 4)`` float ``x1, y1, x2, y2`` of each
            view in source pixels.
        flips (np.ndarray): ``(V,)`` bool, view mirrored left-right.
        parent (np.ndarray): ``(V,)`` int, large view a small view was cut
            from, -1 for large views.
        img_path (str): The image file.
    """

    source: np.ndarray
    views: list
    crop_boxes: np.ndarray
    flips: np.ndarray
    parent: np.ndarray
    img_path: str


def load_source_image(img_path: str,
                      backend_args: Optional[dict] = None) -> np.ndarray:
    """Decode an image as the pipeline's crop boxes see it.

    Args:
        img_path (str): The file.
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 RGB, full size, EXIF orientation
        applied (the frame of ``crop_boxes``).
    """
    buf = fileio.get(img_path, backend_args=backend_args)
    return decode_image_robust(buf, channel_order='rgb')


def find_grid_sizes(pipeline: Compose) -> Tuple[int, ...]:
    """The spatial-pyramid levels of a built pipeline's small views.

    Args:
        pipeline (Compose): A built pretraining pipeline.

    Returns:
        tuple[int, ...]: ``grid_sizes`` of the small-view crop of its
        ``MultiViewWithBoxes`` (e.g. ``(2, 3)``); empty without small views.
    """
    for transform in pipeline.transforms:
        if isinstance(transform, MultiViewWithBoxes):
            crop = transform.small_view_crop
            return tuple(getattr(crop, 'grid_sizes', ()))
    return ()


def sample_multi_view(pipeline: Compose,
                      results: Union[str, dict],
                      seed: Optional[int] = None,
                      bgr_views: bool = True) -> MultiViewSample:
    """Run the pipeline on one image and unpack the result.

    Args:
        pipeline (Compose): A built pipeline ending in
            ``PackMultiViewInputs``.
        results (str | dict): An image path, or a dataset's data info
            (with ``img_path``).
        seed (int, optional): Seed of numpy, random and torch before the
            pipeline runs, for reproducible crops. Defaults to None.
        bgr_views (bool): The packed views are BGR (the default channel
            order of ``LoadImageRobust``); they are returned as RGB.

    Returns:
        MultiViewSample: The sample.

    Raises:
        ValueError: If the image cannot be read or the pipeline does not
            pack ``crop_boxes``, ``flips`` and ``parent``.
    """
    info = dict(img_path=results) if isinstance(results, str) else dict(
        results)
    info.setdefault('sample_idx', 0)
    img_path = info['img_path']
    if seed is not None:
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
    packed = pipeline(info)
    if packed is None:
        raise ValueError(f'could not read image "{img_path}" (the pipeline '
                         'skipped it)')
    sample = packed.get('data_samples')
    missing = [
        k for k in ('crop_boxes', 'flips', 'parent')
        if sample is None or k not in sample
    ]
    if missing:
        raise ValueError(
            f'the pipeline does not record {missing} for "{img_path}"; '
            'expected a multi-view pretraining pipeline ending in '
            'MultiViewWithBoxes and PackMultiViewInputs')
    views = []
    for view in packed['inputs']:
        arr = view.permute(1, 2, 0).numpy() if isinstance(
            view, torch.Tensor) else np.asarray(view)
        views.append(np.ascontiguousarray(arr[..., ::-1] if bgr_views
                                          else arr))
    return MultiViewSample(
        # the source from the same file backend as the pipeline's loader
        source=load_source_image(
            img_path,
            next((t.backend_args for t in pipeline.transforms
                  if hasattr(t, 'backend_args')), None)),
        views=views,
        crop_boxes=sample.crop_boxes.numpy().astype(np.float64),
        flips=sample.flips.numpy().astype(bool),
        parent=sample.parent.numpy().astype(np.int64),
        img_path=img_path)


def views_are_bgr(data_preprocessor: Optional[dict]) -> bool:
    """Whether a config's packed views are BGR, from its preprocessor.

    Args:
        data_preprocessor (dict, optional): The model's
            ``data_preprocessor`` config.

    Returns:
        bool: True when the preprocessor converts BGR to RGB (``to_rgb``
        or ``bgr_to_rgb``), which is the case for pipelines that load with
        the default channel order; True when unknown.
    """
    if not data_preprocessor:
        return True
    keys: Sequence[str] = ('to_rgb', 'bgr_to_rgb')
    if any(k in data_preprocessor for k in keys):
        return any(bool(data_preprocessor.get(k)) for k in keys)
    return True
