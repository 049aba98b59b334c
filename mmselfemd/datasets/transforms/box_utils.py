# Copyright (c) mmselfemd contributors. All rights reserved.
"""Helpers that keep crop boxes in original-image coordinates."""
from typing import Sequence, Tuple

import numpy as np


def current_crop_box(results: dict) -> np.ndarray:
    """The region of the original image that ``results['img']`` covers.

    Falls back to the whole image when no loader recorded a box.
    """
    box = results.get('crop_box')
    if box is None:
        h, w = results['img'].shape[:2]
        return np.array([0, 0, w, h], np.float32)
    return np.asarray(box, np.float32)


def img_to_original(crop_box: np.ndarray, img_shape: Tuple[int, int],
                    box: Sequence[float]) -> np.ndarray:
    """Map a box in the pixel grid of ``img`` to original-image pixels.

    Args:
        crop_box (np.ndarray): ``[x1, y1, x2, y2]`` region of the original
            image that ``img`` covers.
        img_shape (tuple): ``(h, w)`` of ``img``.
        box (Sequence[float]): ``[x1, y1, x2, y2]`` in ``img`` pixels
            (exclusive right/bottom edges).

    Returns:
        np.ndarray: float32 ``[x1, y1, x2, y2]`` in original pixels.
    """
    h, w = img_shape[:2]
    sx = (crop_box[2] - crop_box[0]) / w
    sy = (crop_box[3] - crop_box[1]) / h
    x1, y1, x2, y2 = box
    return np.array([
        crop_box[0] + x1 * sx, crop_box[1] + y1 * sy,
        crop_box[0] + x2 * sx, crop_box[1] + y2 * sy
    ], np.float32)


def original_to_img(crop_box: np.ndarray, img_shape: Tuple[int, int],
                    box: Sequence[float]) -> np.ndarray:
    """Inverse of :func:`img_to_original` (float, not rounded)."""
    h, w = img_shape[:2]
    sx = w / (crop_box[2] - crop_box[0])
    sy = h / (crop_box[3] - crop_box[1])
    x1, y1, x2, y2 = box
    return np.array([(x1 - crop_box[0]) * sx, (y1 - crop_box[1]) * sy,
                     (x2 - crop_box[0]) * sx, (y2 - crop_box[1]) * sy],
                    np.float64)
