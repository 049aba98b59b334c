# Copyright (c) mmselfemd contributors. All rights reserved.
"""decode_image_robust and the header readers of the image decoder."""
import io
import os.path as osp

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps
from skimage import data

from mmselfemd.datasets.transforms import (
    UnreadableImageError,
    decode_image_robust,
    read_image_size,
)
from mmselfemd.datasets.transforms.image_decoder import (
    is_jpeg,
    read_jpeg_size,
)

from ..conftest import (
    astronaut_640,
    big_jpeg,
    exif_orientation_bytes,
    jpeg_bytes,
)


def test_truncated_jpeg_is_detected():
    full = jpeg_bytes(data.astronaut())
    with pytest.raises(UnreadableImageError, match='truncated'):
        decode_image_robust(full[:len(full) // 2])
    # Data appended after the end-of-image marker is fine.
    img = decode_image_robust(full + b'extra trailing data' * 10)
    assert img.shape == (512, 512, 3)
    with pytest.raises(UnreadableImageError, match='empty'):
        decode_image_robust(b'')


def test_pillow_png_16bit_rgb_palette_paths():
    # 16-bit grayscale through Pillow's I;16 mode keeps the values.
    buf = io.BytesIO()
    Image.fromarray(data.camera().astype(np.uint16) * 257).save(
        buf, format='PNG')
    img = decode_image_robust(buf.getvalue(), channel_order='rgb',
                              backend='pillow')
    assert np.abs(img[..., 1].astype(int) - data.camera()).max() <= 1


@pytest.mark.parametrize('orientation', range(1, 9))
def test_strict_jpeg_exif_orientation_matches_pillow(orientation):
    rgb = cv2.resize(data.astronaut(), (64, 48))
    buf = jpeg_bytes(rgb, exif=exif_orientation_bytes(orientation))
    with Image.open(io.BytesIO(buf)) as pil_img:
        ref = np.asarray(ImageOps.exif_transpose(pil_img).convert('RGB'))
    img = decode_image_robust(buf, channel_order='rgb')
    assert img.shape == ref.shape
    assert np.abs(img.astype(int) - ref).max() <= 2


@pytest.mark.parametrize('factor', [2, 4, 8])
def test_strict_scaled_decode_matches_opencv(tmp_path, factor):
    path, _ = big_jpeg(tmp_path)
    with open(path, 'rb') as f:
        buf = f.read()
    flag = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
            8: cv2.IMREAD_REDUCED_COLOR_8}[factor]
    ref = cv2.imdecode(np.frombuffer(buf, np.uint8), flag)
    img = decode_image_robust(buf, factor=factor)
    assert img.shape == ref.shape
    assert np.abs(img.astype(int) - ref).mean() < 1



@pytest.mark.parametrize('name', ['cut_eoi.jpg', 'zeroed_eoi.jpg'])
def test_corrupt_jpeg_with_end_marker_is_rejected(image_zoo, name):
    root, _ = image_zoo
    with open(osp.join(root, name), 'rb') as f:
        buf = f.read()
    assert buf.endswith(b'\xff\xd9')
    # The premise: OpenCV and Pillow decode these files without an error,
    # to an image far from the photograph (grey where data are missing).
    lenient = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_COLOR)
    assert lenient is not None and lenient.shape == (480, 640, 3)
    with Image.open(io.BytesIO(buf)) as pil_img:
        pil_img.load()
    astro = astronaut_640()[..., ::-1]  # BGR like cv2
    assert np.abs(lenient.astype(np.float32) - astro).mean() > 20
    assert decode_image_robust(buf, strict_jpeg=False).shape == (480, 640,
                                                                   3)
    # Strict decoding refuses them, for either backend.
    for backend in ('cv2', 'pillow'):
        with pytest.raises(UnreadableImageError, match='corrupt JPEG'):
            decode_image_robust(buf, backend=backend)


def test_header_readers(tmp_path):
    path, _ = big_jpeg(tmp_path, exif=exif_orientation_bytes(6))
    with open(path, 'rb') as f:
        buf = f.read()
    assert is_jpeg(buf)
    # the stored size, before the EXIF rotation
    assert read_jpeg_size(buf) == read_image_size(buf) == (2000, 1500)
    png = io.BytesIO()
    Image.fromarray(data.coffee()).save(png, format='PNG')
    assert not is_jpeg(png.getvalue()) and not is_jpeg(b'')
    assert read_image_size(png.getvalue()) == (600, 400)
    with pytest.raises(ValueError):
        read_jpeg_size(png.getvalue())


def test_invalid_decode_arguments():
    buf = jpeg_bytes(data.astronaut())
    with pytest.raises(ValueError, match='channel_order'):
        decode_image_robust(buf, channel_order='hsv')
    with pytest.raises(ValueError, match='backend'):
        decode_image_robust(buf, backend='turbo')
    with pytest.raises(ValueError, match='factor'):
        decode_image_robust(buf, factor=3)
