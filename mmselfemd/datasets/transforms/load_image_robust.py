# Copyright (c) mmselfemd contributors. All rights reserved.
import logging
import math
from typing import Optional, Tuple

import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from mmselfemd.registry import TRANSFORMS

from .image_decoder import (
    UnreadableImageError,
    decode_image_robust,
    is_jpeg,
    read_image_size,
    read_jpeg_size,
)


@TRANSFORMS.register_module()
class LoadImageRobust(BaseTransform):
    """Load an image, never crashing on a bad file, never training on one.

    A drop-in replacement for mmcv's ``LoadImageFromFile`` for unlabeled,
    uncurated image collections: any readable file becomes a 3-channel
    uint8 image (:func:`decode_image_robust`). The transform returns
    ``None`` for a missing, empty, undecodable, truncated or corrupt file
    and for an image whose shorter side (full resolution, after EXIF
    rotation) is below ``min_size``; mmengine's ``BaseDataset`` then
    returns another sample (``max_refetch``). Each skipped file is named
    once per process in a warning of the current logger, with the counts
    of :attr:`skipped`. With ``reduce_decode`` a JPEG is decoded at 1/2,
    1/4 or 1/8 size when the crops allow it (:meth:`decode_factor`). See
    ``docs/en/user_guides/dataset_prepare.md`` ("Broken, odd and huge
    files").

    **Required Keys:** ``img_path``

    **Added Keys:**

    - img (np.ndarray): ``(h, w, 3)`` uint8 in ``channel_order``.
    - img_shape (tuple): ``(h, w)`` of the decoded image.
    - ori_shape (tuple): ``(H, W)`` of the full-size image after EXIF
      rotation, i.e. the coordinate frame of all crop boxes.
    - crop_box (np.ndarray): float32 ``[0, 0, W, H]``: the region of the
      original image that ``img`` covers, in original pixels. Crop
      transforms of this package update it.
    - decode_factor (int): 1, 2, 4 or 8.

    Args:
        channel_order (str): ``'bgr'`` (mmcv convention, default) or
            ``'rgb'``.
        decode_backend (str): ``'cv2'`` (default) or ``'pillow'`` for
            formats other than JPEG (and for JPEGs when ``strict_jpeg`` is
            False); the other one is the fallback for files the first
            cannot read.
        strict_jpeg (bool): Decode JPEGs with libjpeg-turbo
            (``simplejpeg``) treating corrupt-data warnings as errors.
            Defaults to True; False restores the lenient OpenCV/Pillow
            decoding, which trains on corrupt JPEGs that end with an
            end-of-image marker.
        min_size (int): Smallest accepted shorter side, in pixels of the
            full-resolution image after EXIF rotation; 0 accepts any size.
            Defaults to 64.
        reduce_decode (dict, optional): Enables reduced-size JPEG decoding.
            Keys: ``crop_ratio_min`` (smallest crop area fraction, e.g.
            0.08), ``aspect_ratio_range`` (e.g. ``(3/4, 4/3)``) and
            ``min_decoded_side`` (e.g. 288 = 3 x 96 for 96-pixel small views
            on a 3x3 pyramid). Defaults to None (always full size).
        to_float32 (bool): Convert the image to float32. Defaults to False.
        backend_args (dict, optional): mmengine file backend arguments.
    """

    def __init__(self,
                 channel_order: str = 'bgr',
                 decode_backend: str = 'cv2',
                 strict_jpeg: bool = True,
                 min_size: int = 64,
                 reduce_decode: Optional[dict] = None,
                 to_float32: bool = False,
                 backend_args: Optional[dict] = None) -> None:
        if channel_order not in ('bgr', 'rgb'):
            raise ValueError(f"LoadImageRobust: channel_order must be 'bgr' "
                             f"or 'rgb', got {channel_order!r}")
        if decode_backend not in ('cv2', 'pillow'):
            raise ValueError(f"LoadImageRobust: decode_backend must be 'cv2' "
                             f"or 'pillow', got {decode_backend!r}")
        if isinstance(min_size, bool) or not isinstance(
                min_size, int) or min_size < 0:
            raise ValueError(f'LoadImageRobust: min_size must be an int >= 0 '
                             f'(pixels), got {min_size!r}')
        if reduce_decode is not None:
            expected = {'crop_ratio_min', 'aspect_ratio_range',
                        'min_decoded_side'}
            if set(reduce_decode) != expected:
                raise ValueError(
                    f'LoadImageRobust: reduce_decode must have exactly the '
                    f'keys {sorted(expected)}, got {sorted(reduce_decode)}')
        self.channel_order = channel_order
        self.decode_backend = decode_backend
        self.strict_jpeg = strict_jpeg
        self.min_size = min_size
        self.reduce_decode = reduce_decode
        self.to_float32 = to_float32
        self.backend_args = backend_args
        self._warned = set()
        self.skipped = {'unreadable': 0, 'too small': 0}

    def decode_factor(self, width: int, height: int) -> int:
        """The largest JPEG reduction (1, 2, 4, 8) the crops allow.

        The smallest crop the pipeline can draw must keep at least
        ``min_decoded_side`` decoded pixels along its shorter side.

        Args:
            width (int): Stored image width.
            height (int): Stored image height.

        Returns:
            int: 1 (full size), 2, 4 or 8.
        """
        if self.reduce_decode is None:
            return 1
        cfg = self.reduce_decode
        lo, hi = cfg['aspect_ratio_range']
        min_side = math.sqrt(cfg['crop_ratio_min'] * width * height *
                             min(lo, 1.0 / hi))
        for factor in (8, 4, 2):
            if min_side / factor >= cfg['min_decoded_side']:
                return factor
        return 1

    def _skip(self, path: str, kind: str, reason: str) -> None:
        """Count a skipped file; name it the first time in this process."""
        if path in self._warned:
            return
        self._warned.add(path)
        self.skipped[kind] += 1
        counts = ', '.join(f'{n} {k}' for k, n in self.skipped.items())
        print_log(
            f'LoadImageRobust: skipped {kind} image "{path}": {reason}. '
            'Another sample is returned instead (files skipped so far in '
            f'this process: {counts}).',
            logger='current',
            level=logging.WARNING)

    def _stored_size(self, buf: bytes) -> Tuple[int, int]:
        """(width, height) from the file header, before EXIF rotation."""
        if self.strict_jpeg:
            return read_jpeg_size(buf)
        return read_image_size(buf)

    def transform(self, results: dict) -> Optional[dict]:
        """Load the image at ``results['img_path']``.

        Args:
            results (dict): The result dict with ``img_path``.

        Returns:
            dict | None: The results with the image, or None for a file
            that cannot be read or decoded, or is too small.
        """
        path = results['img_path']
        try:
            buf = fileio.get(path, backend_args=self.backend_args)
        except Exception as e:  # missing file, permission, backend error
            self._skip(path, 'unreadable',
                       f'cannot be read ({type(e).__name__}: {e})')
            return None
        factor = 1
        stored_wh = None
        if self.reduce_decode is not None and is_jpeg(buf):
            try:
                stored_wh = self._stored_size(buf)
                factor = self.decode_factor(*stored_wh)
            except Exception:
                factor = 1  # the decode below reports the problem
        try:
            img = decode_image_robust(
                buf,
                channel_order=self.channel_order,
                backend=self.decode_backend,
                factor=factor,
                strict_jpeg=self.strict_jpeg)
        except UnreadableImageError as e:
            self._skip(path, 'unreadable', str(e))
            return None
        h, w = img.shape[:2]
        if factor == 1:
            ori_h, ori_w = h, w
        else:
            ori_w, ori_h = stored_wh
            # EXIF rotation by 90 degrees swaps the stored sides.
            if (ori_w > ori_h) != (w > h) and w != h:
                ori_w, ori_h = ori_h, ori_w
        if min(ori_h, ori_w) < self.min_size:
            self._skip(
                path, 'too small',
                f'{ori_w}x{ori_h} pixels, shorter side below '
                f'min_size={self.min_size}')
            return None
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = (h, w)
        results['ori_shape'] = (ori_h, ori_w)
        results['crop_box'] = np.array([0, 0, ori_w, ori_h], np.float32)
        results['decode_factor'] = factor
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f"channel_order='{self.channel_order}', "
                f"decode_backend='{self.decode_backend}', "
                f'strict_jpeg={self.strict_jpeg}, '
                f'min_size={self.min_size}, '
                f'reduce_decode={self.reduce_decode}, '
                f'to_float32={self.to_float32}, '
                f'backend_args={self.backend_args})')
