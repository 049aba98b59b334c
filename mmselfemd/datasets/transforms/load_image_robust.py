# Copyright (c) mmselfemd contributors. All rights reserved.
import io
import logging
import math
from typing import Optional, Tuple

import cv2
import mmengine.fileio as fileio
import numpy as np
import simplejpeg
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log
from PIL import Image, ImageOps

from mmselfemd.registry import TRANSFORMS

_CV2_REDUCED_FLAGS = {
    1: cv2.IMREAD_COLOR,
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}
_JPEG_SOI = b'\xff\xd8'
_JPEG_EOI = b'\xff\xd9'
_EXIF_HEADER = b'Exif\x00\x00'
_EXIF_ORIENTATION_TAG = 0x0112
# EXIF orientation -> the array operation that displays the image upright
# (the same result as Pillow's ``ImageOps.exif_transpose``).
# OpenCV's flips and rotations return contiguous arrays, several times
# faster than numpy views followed by a copy on large photographs.
_ORIENT = {
    2: lambda a: cv2.flip(a, 1),
    3: lambda a: cv2.rotate(a, cv2.ROTATE_180),
    4: lambda a: cv2.flip(a, 0),
    5: lambda a: cv2.transpose(a),
    6: lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
    7: lambda a: cv2.flip(cv2.transpose(a), -1),
    8: lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


class UnreadableImageError(Exception):
    """Raised by :func:`decode_image_robust` for a file it cannot decode."""


def _is_complete_jpeg(buf: bytes) -> bool:
    """Whether a JPEG byte string ends with its end-of-image marker.

    Trailing NUL bytes and whitespace (some writers pad files) are ignored.
    A file with other data after the marker (e.g. an appended video) is
    reported incomplete here and then verified by a full Pillow decode.
    """
    return buf.rstrip(b'\x00\r\n\t ')[-2:] == _JPEG_EOI


def _pil_to_uint8_rgb(pil_img: Image.Image) -> np.ndarray:
    """Convert any Pillow image (L, P, CMYK, I;16, RGBA, ...) to uint8 RGB."""
    if pil_img.mode in ('I;16', 'I;16B', 'I;16L', 'I;16N', 'I', 'F'):
        arr = np.asarray(pil_img)
        if pil_img.mode.startswith('I;16'):
            arr = arr.astype(np.float32) / 257.0
        else:
            arr = arr.astype(np.float32)
            hi = float(arr.max()) if arr.size else 0.
            if hi > 255:
                arr = arr * (255.0 / hi)
        arr = np.clip(arr + 0.5, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(arr[..., None], 3, axis=2))
    if pil_img.mode != 'RGB':
        pil_img = pil_img.convert('RGB')
    return np.asarray(pil_img, dtype=np.uint8)


def _pil_decode(buf: bytes, factor: int,
                apply_exif: bool) -> np.ndarray:
    """Decode with Pillow to uint8 RGB, optionally at 1/factor (JPEG)."""
    with Image.open(io.BytesIO(buf)) as pil_img:
        if factor > 1 and pil_img.format == 'JPEG':
            w, h = pil_img.size
            pil_img.draft('RGB', (-(-w // factor), -(-h // factor)))
        pil_img.load()
        if apply_exif:
            pil_img = ImageOps.exif_transpose(pil_img)
        return _pil_to_uint8_rgb(pil_img)


def _exif_orientation(buf: bytes) -> int:
    """EXIF orientation (1-8) of a JPEG, 1 when it has none.

    Only files with an EXIF header in their first 64 KiB (where the APP1
    segment must be) are parsed, with Pillow, which reads the header only.
    """
    if buf.find(_EXIF_HEADER, 0, 1 << 16) < 0:
        return 1
    try:
        with Image.open(io.BytesIO(buf)) as pil_img:
            value = pil_img.getexif().get(_EXIF_ORIENTATION_TAG, 1)
        return int(value) if int(value) in _ORIENT else 1
    except Exception:  # a broken EXIF block: the pixels decide
        return 1


def _decode_jpeg_strict(buf: bytes, channel_order: str, factor: int,
                        apply_exif: bool) -> np.ndarray:
    """Decode a JPEG with libjpeg-turbo, any corrupt-data warning fatal.

    libjpeg recovers from corrupt entropy data (e.g. a truncated file with
    its end-of-image marker restored, or zero-filled blocks) with a warning
    and returns grey or smeared pixels; OpenCV and Pillow accept them.
    ``simplejpeg.decode_jpeg(strict=True)`` turns the warning into an
    error. Scaled decoding (1/2, 1/4, 1/8) gives exactly the size OpenCV's
    ``IMREAD_REDUCED_*`` flags give (``ceil(side / factor)``).
    """
    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(buf)
        kwargs = {}
        if factor > 1:
            kwargs = dict(
                min_factor=factor,
                min_height=-(-height // factor),
                min_width=-(-width // factor))
        img = simplejpeg.decode_jpeg(
            buf, colorspace=channel_order.upper(), strict=True, **kwargs)
    except ValueError as e:
        msg = str(e).strip().rstrip('.')
        kind = ('truncated JPEG' if 'Premature end of JPEG file' in msg else
                'corrupt JPEG')
        raise UnreadableImageError(
            f'{kind} (libjpeg-turbo, strict decoding: {msg})') from e
    if apply_exif:
        orientation = _exif_orientation(buf)
        if orientation in _ORIENT:
            img = _ORIENT[orientation](img)
    return img


def read_image_size(buf: bytes) -> Tuple[int, int]:
    """Read (width, height) from the header only, without decoding pixels.

    The size is the stored one, before any EXIF rotation.
    """
    with Image.open(io.BytesIO(buf)) as pil_img:
        return pil_img.size


def decode_image_robust(buf: bytes,
                        channel_order: str = 'bgr',
                        backend: str = 'cv2',
                        factor: int = 1,
                        apply_exif: bool = True,
                        strict_jpeg: bool = True) -> np.ndarray:
    """Decode any common image file to a 3-channel uint8 array.

    Grayscale, palette, CMYK, 16-bit and alpha images are converted to 3
    channels; EXIF orientation is applied.

    JPEG files are decoded strictly by default (``strict_jpeg``): with
    libjpeg-turbo (``simplejpeg``), where every corrupt-data warning of
    libjpeg is an error. A truncated file, or one whose entropy-coded data
    were cut or zero-filled but which still ends with its end-of-image
    marker, is then rejected instead of becoming a partly grey image (OpenCV
    and Pillow decode those without an error). ``backend`` applies to the
    other formats, and to JPEGs when ``strict_jpeg`` is False; then a JPEG
    without an end-of-image marker is verified with a full Pillow decode,
    which rejects it.

    Args:
        buf (bytes): The encoded file content.
        channel_order (str): ``'bgr'`` or ``'rgb'``. Defaults to ``'bgr'``.
        backend (str): ``'cv2'`` (default) or ``'pillow'`` for the first
            decode attempt; the other one is the fallback.
        factor (int): JPEG DCT-domain reduction, one of 1, 2, 4, 8. The
            result is about ``1/factor`` of the stored size (rounded up).
            Ignored for formats other than JPEG. Defaults to 1.
        apply_exif (bool): Apply the EXIF orientation. Defaults to True.
        strict_jpeg (bool): Decode JPEGs strictly with libjpeg-turbo.
            Defaults to True.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 array.

    Raises:
        UnreadableImageError: If the file is empty, truncated, corrupt or
            cannot be decoded.
    """
    if channel_order not in ('bgr', 'rgb'):
        raise ValueError(
            f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}")
    if backend not in ('cv2', 'pillow'):
        raise ValueError(
            f"backend must be 'cv2' or 'pillow', got {backend!r}")
    if factor not in _CV2_REDUCED_FLAGS:
        raise ValueError(f'factor must be 1, 2, 4 or 8, got {factor!r}')
    if not buf:
        raise UnreadableImageError('the file is empty (0 bytes)')
    is_jpeg = buf[:2] == _JPEG_SOI
    if not is_jpeg:
        factor = 1
    elif strict_jpeg:
        return _decode_jpeg_strict(buf, channel_order, factor, apply_exif)
    # Suspicious JPEGs go straight to Pillow, which raises on truncation.
    use_cv2 = backend == 'cv2' and (not is_jpeg or _is_complete_jpeg(buf))
    img, rgb = None, False
    if use_cv2:
        flag = _CV2_REDUCED_FLAGS[factor]
        if not apply_exif:
            flag |= cv2.IMREAD_IGNORE_ORIENTATION
        try:
            img = cv2.imdecode(np.frombuffer(buf, np.uint8), flag)
        except cv2.error:
            img = None
    if img is None:
        try:
            img = _pil_decode(buf, factor, apply_exif)
            rgb = True
        except Exception as e:  # Pillow raises many types on bad files
            reason = 'truncated JPEG' if is_jpeg and not _is_complete_jpeg(
                buf) else 'undecodable'
            raise UnreadableImageError(
                f'{reason} ({type(e).__name__}: {e})') from e
    if img.ndim == 2:  # defensive: some decoders return 2-D arrays
        img = np.repeat(img[..., None], 3, axis=2)
    if img.dtype != np.uint8 or img.shape[2] != 3 or img.size == 0:
        raise UnreadableImageError(
            f'decoded to an unexpected array {img.dtype} {img.shape}')
    if rgb != (channel_order == 'rgb'):
        img = np.ascontiguousarray(img[..., ::-1])
    return img


@TRANSFORMS.register_module()
class LoadImageRobust(BaseTransform):
    """Load an image, never crashing on a bad file, never training on one.

    A drop-in replacement for mmcv's ``LoadImageFromFile`` for unlabeled,
    uncurated image collections. Any readable file becomes a 3-channel uint8
    image: grayscale, palette, CMYK, 16-bit and alpha images are converted
    and the EXIF orientation is applied. The transform returns ``None`` for

    - a missing, empty or undecodable file;
    - a truncated or corrupt JPEG: JPEGs are decoded strictly by
      libjpeg-turbo, so corrupt entropy-coded data are an error even when
      the file still ends with its end-of-image marker (OpenCV and Pillow
      decode such files to partly grey images without a word);
    - an image whose shorter side (at full resolution, after EXIF rotation)
      is below ``min_size`` pixels: thumbnails and icons would give small
      views of a few pixels blown up to the view size.

    mmengine's ``BaseDataset`` then returns another sample instead
    (``max_refetch``). Each skipped file is named once per process with a
    warning (through ``print_log(logger='current')``, i.e. into the run's
    log) that also counts the files skipped so far in the process, by
    reason.

    Decoding at reduced size: with ``reduce_decode`` set, a JPEG is decoded
    in the DCT domain at 1/2, 1/4 or 1/8 of its size (libjpeg's scaled
    decoding, several times faster than a full decode) when even the
    smallest crop the pipeline can draw keeps at least
    ``min_decoded_side`` decoded pixels along its shorter side, so the
    crops never lose resolution they would keep at full size. For COCO's
    640x480 images and 224-pixel crops this never triggers; it matters for
    camera-sized photos.

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
            Defaults to 64: below it even the whole-image view's 3x3
            pyramid cells are under 22 pixels, and an 8 % crop's cells 5
            pixels or less.
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

        Args:
            width (int): Stored image width.
            height (int): Stored image height.
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
            height, width = simplejpeg.decode_jpeg_header(buf)[:2]
            return width, height
        return read_image_size(buf)

    def transform(self, results: dict) -> Optional[dict]:
        """Load the image at ``results['img_path']``.

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
        if self.reduce_decode is not None and buf[:2] == _JPEG_SOI:
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
