# Copyright (c) mmselfemd contributors. All rights reserved.
"""Decode image files robustly: any common format to 3-channel uint8.

The decoder behind ``LoadImageRobust`` and the data-check tools; see
``docs/en/user_guides/dataset_prepare.md`` ("Broken, odd and huge files")
for which files it rejects and why.
"""
import io
from typing import Tuple

import cv2
import numpy as np
import simplejpeg
from PIL import Image, ImageOps

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


def is_jpeg(buf: bytes) -> bool:
    """Whether ``buf`` starts with the JPEG start-of-image marker.

    Args:
        buf (bytes): The encoded file content.

    Returns:
        bool: True for a JPEG file.
    """
    return buf[:2] == _JPEG_SOI


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
    """Read the size from the header with Pillow, decoding no pixels.

    Args:
        buf (bytes): The encoded file content.

    Returns:
        tuple[int, int]: ``(width, height)`` as stored, before any EXIF
        rotation.
    """
    with Image.open(io.BytesIO(buf)) as pil_img:
        return pil_img.size


def read_jpeg_size(buf: bytes) -> Tuple[int, int]:
    """Read a JPEG's size from its header with libjpeg-turbo.

    Args:
        buf (bytes): The encoded JPEG.

    Returns:
        tuple[int, int]: ``(width, height)`` as stored, before any EXIF
        rotation.

    Raises:
        ValueError: If ``buf`` has no valid JPEG header.
    """
    height, width = simplejpeg.decode_jpeg_header(buf)[:2]
    return width, height


def decode_image_robust(buf: bytes,
                        channel_order: str = 'bgr',
                        backend: str = 'cv2',
                        factor: int = 1,
                        apply_exif: bool = True,
                        strict_jpeg: bool = True) -> np.ndarray:
    """Decode any common image file to a 3-channel uint8 array.

    Grayscale, palette, CMYK, 16-bit and alpha images are converted to 3
    channels; EXIF orientation is applied. JPEGs are decoded strictly by
    default, so a truncated or corrupt JPEG is an error even when OpenCV
    and Pillow would decode it to a partly grey image
    (``docs/en/user_guides/dataset_prepare.md``).

    Args:
        buf (bytes): The encoded file content.
        channel_order (str): ``'bgr'`` or ``'rgb'``. Defaults to ``'bgr'``.
        backend (str): ``'cv2'`` (default) or ``'pillow'`` for the first
            decode attempt of non-JPEG files (and of JPEGs when
            ``strict_jpeg`` is False); the other one is the fallback.
        factor (int): JPEG DCT-domain reduction, one of 1, 2, 4, 8. The
            result is about ``1/factor`` of the stored size (rounded up).
            Ignored for formats other than JPEG. Defaults to 1.
        apply_exif (bool): Apply the EXIF orientation. Defaults to True.
        strict_jpeg (bool): Decode JPEGs with libjpeg-turbo
            (``simplejpeg``), every corrupt-data warning an error. False
            decodes them with ``backend`` and verifies a JPEG without an
            end-of-image marker with a full Pillow decode. Defaults to True.

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
    jpeg = is_jpeg(buf)
    if not jpeg:
        factor = 1
    elif strict_jpeg:
        return _decode_jpeg_strict(buf, channel_order, factor, apply_exif)
    # Suspicious JPEGs go straight to Pillow, which raises on truncation.
    use_cv2 = backend == 'cv2' and (not jpeg or _is_complete_jpeg(buf))
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
            reason = 'truncated JPEG' if jpeg and not _is_complete_jpeg(
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
