# Copyright (c) mmselfemd contributors. All rights reserved.
"""Fixtures: real photographs and awkward/broken image files in tmp_path.

Transforms are built under default scope mmselfemd, as configs build them,
by the ``_isolated_default_scope`` fixture of the root conftest.py.
"""
import io
import os.path as osp

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

# name -> True if readable. Real photographs come from scikit-image.
GOOD = [
    'astronaut.jpg', 'coffee.png', 'gray.jpg', 'cmyk.jpg', 'gray16.png',
    'rgb16.png', 'palette.png', 'rgba.png', 'exif_rot6.jpg'
]
BAD = ['truncated.jpg', 'truncated.png', 'empty.jpg', 'garbage.jpg',
       'missing.jpg', 'cut_eoi.jpg', 'zeroed_eoi.jpg', 'tiny.jpg']
# Decoded without an error by OpenCV and Pillow (issue 13): a JPEG cut
# short with its end-of-image marker restored, one whose entropy-coded data
# are zero-filled from the middle on (marker kept), and a 40x30 photograph.
SILENT_BAD = ['cut_eoi.jpg', 'zeroed_eoi.jpg', 'tiny.jpg']


def jpeg_bytes(rgb: np.ndarray, **kwargs) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format='JPEG', quality=90, **kwargs)
    return buf.getvalue()


def exif_orientation_bytes(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def astronaut_640() -> np.ndarray:
    """scikit-image's astronaut at 640x480, float32 RGB."""
    return cv2.resize(data.astronaut(), (640, 480)).astype(np.float32)


def big_jpeg(tmp_path, exif=None):
    """Write a 2000x1500 JPEG of the coffee photograph under ``tmp_path``.

    Returns:
        tuple[str, np.ndarray]: The file and the RGB image it encodes.
    """
    big = cv2.resize(data.coffee(), (2000, 1500))
    kwargs = {} if exif is None else dict(exif=exif)
    path = str(tmp_path / f'big{exif is not None}.jpg')
    with open(path, 'wb') as f:
        f.write(jpeg_bytes(big, **kwargs))
    return path, big


def make_image_zoo(root: str) -> dict:
    """Write every GOOD and BAD file (except missing) under ``root``.

    Returns:
        dict: name -> expected ``(h, w)`` after decoding (None for bad).
    """
    astro = cv2.resize(data.astronaut(), (640, 480))  # RGB uint8
    coffee = data.coffee()  # 400x600 RGB
    chelsea = data.chelsea()  # 300x451 RGB
    expected = {}

    def write(name, content, shape):
        with open(osp.join(root, name), 'wb') as f:
            f.write(content)
        expected[name] = shape

    write('astronaut.jpg', jpeg_bytes(astro), (480, 640))
    buf = io.BytesIO()
    Image.fromarray(coffee).save(buf, format='PNG')
    write('coffee.png', buf.getvalue(), coffee.shape[:2])
    buf = io.BytesIO()
    Image.fromarray(data.camera()).save(buf, format='JPEG')
    write('gray.jpg', buf.getvalue(), data.camera().shape)
    buf = io.BytesIO()
    Image.fromarray(chelsea).convert('CMYK').save(buf, format='JPEG')
    write('cmyk.jpg', buf.getvalue(), chelsea.shape[:2])
    ok, enc = cv2.imencode('.png', data.camera().astype(np.uint16) * 257)
    write('gray16.png', enc.tobytes(), data.camera().shape)
    ok, enc = cv2.imencode('.png', chelsea[..., ::-1].astype(np.uint16) * 257)
    write('rgb16.png', enc.tobytes(), chelsea.shape[:2])
    buf = io.BytesIO()
    Image.fromarray(coffee).quantize(64).save(buf, format='PNG')
    write('palette.png', buf.getvalue(), coffee.shape[:2])
    buf = io.BytesIO()
    Image.fromarray(np.dstack([chelsea, np.full(chelsea.shape[:2], 128,
                                                np.uint8)])).save(
                                                    buf, format='PNG')
    write('rgba.png', buf.getvalue(), chelsea.shape[:2])
    # Stored 640x480 landscape, EXIF orientation 6 (rotate 90 CW on view).
    write('exif_rot6.jpg',
          jpeg_bytes(astro, exif=exif_orientation_bytes(6)), (640, 480))
    full = jpeg_bytes(astro)
    write('truncated.jpg', full[:len(full) * 6 // 10], None)
    buf = io.BytesIO()
    Image.fromarray(coffee).save(buf, format='PNG')
    write('truncated.png', buf.getvalue()[:len(buf.getvalue()) // 2], None)
    write('empty.jpg', b'', None)
    write('cut_eoi.jpg', full[:len(full) * 6 // 10] + b'\xff\xd9', None)
    zeroed = bytearray(full)
    zeroed[len(full) // 2:-2] = bytes(len(full) - 2 - len(full) // 2)
    write('zeroed_eoi.jpg', bytes(zeroed), None)
    write('tiny.jpg', jpeg_bytes(cv2.resize(astro, (40, 30))), None)
    write('garbage.jpg', b'this is not an image\n' * 50, None)
    expected['missing.jpg'] = None
    return expected


@pytest.fixture(scope='session')
def image_zoo(tmp_path_factory):
    """A folder with GOOD and BAD files and the expected decoded shapes."""
    root = str(tmp_path_factory.mktemp('zoo'))
    return root, make_image_zoo(root)
