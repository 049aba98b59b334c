# Copyright (c) mmselfemd contributors. All rights reserved.
"""LoadImageRobust: the loading transform (decoding, skipping, reduced
decode)."""
import os.path as osp

import cv2
import numpy as np
import pytest
from skimage import data

from mmselfemd.datasets.transforms import LoadImageRobust

from ..conftest import (
    BAD,
    GOOD,
    astronaut_640,
    big_jpeg,
    exif_orientation_bytes,
)
from ..utils import file_logger, skipped_files


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_every_good_file_is_3ch_uint8(image_zoo, backend):
    root, expected = image_zoo
    load = LoadImageRobust(decode_backend=backend)
    for name in GOOD:
        out = load(dict(img_path=osp.join(root, name)))
        assert out is not None, name
        img = out['img']
        assert img.dtype == np.uint8 and img.ndim == 3, name
        assert img.shape == expected[name] + (3, ), name
        assert out['ori_shape'] == expected[name]
        h, w = expected[name]
        np.testing.assert_array_equal(out['crop_box'], [0, 0, w, h])


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_content_is_right(image_zoo, backend):
    root, _ = image_zoo
    load = LoadImageRobust(channel_order='rgb', decode_backend=backend)

    def read(name):
        return load(dict(img_path=osp.join(root, name)))['img'].astype(
            np.float32)

    astro = astronaut_640()
    assert np.abs(read('astronaut.jpg') - astro).mean() < 4
    # EXIF orientation 6: displayed = stored rotated 90 degrees clockwise.
    assert np.abs(read('exif_rot6.jpg') - np.rot90(astro, -1)).mean() < 4
    cam = data.camera().astype(np.float32)
    assert np.abs(read('gray16.png') - cam[..., None]).max() <= 1
    chelsea = data.chelsea().astype(np.float32)
    assert np.abs(read('rgb16.png') - chelsea).max() <= 1
    assert np.abs(read('cmyk.jpg') - chelsea).mean() < 8
    gray = read('gray.jpg')
    assert np.array_equal(gray[..., 0], gray[..., 2])


def test_bgr_is_reversed_rgb(image_zoo):
    root, _ = image_zoo
    path = osp.join(root, 'coffee.png')
    bgr = LoadImageRobust()(dict(img_path=path))['img']
    rgb = LoadImageRobust(channel_order='rgb')(dict(img_path=path))['img']
    np.testing.assert_array_equal(bgr, rgb[..., ::-1])
    np.testing.assert_array_equal(rgb, data.coffee())


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_bad_files_return_none_and_warn_once(image_zoo, tmp_path, backend):
    root, _ = image_zoo
    log_file = file_logger(tmp_path)
    load = LoadImageRobust(decode_backend=backend)
    for _ in range(2):
        for name in BAD:
            assert load(dict(img_path=osp.join(root, name))) is None, name
    named = skipped_files(log_file)
    assert sorted(named) == sorted(osp.join(root, n) for n in BAD)


def test_reduced_decode(tmp_path):
    path, big = big_jpeg(tmp_path)
    cfg = dict(crop_ratio_min=0.5, aspect_ratio_range=(3 / 4, 4 / 3),
               min_decoded_side=224)
    load = LoadImageRobust(channel_order='rgb', reduce_decode=cfg)
    # smallest crop side = sqrt(0.5 * 3e6 * 0.75) = 1061 -> 1061 / 4 >= 224
    assert load.decode_factor(2000, 1500) == 4
    assert load.decode_factor(640, 480) == 1
    out = load(dict(img_path=path))
    assert out['decode_factor'] == 4
    assert out['img'].shape == (375, 500, 3)
    assert out['ori_shape'] == (1500, 2000)
    np.testing.assert_array_equal(out['crop_box'], [0, 0, 2000, 1500])
    ref = cv2.resize(big, (500, 375), interpolation=cv2.INTER_AREA)
    assert np.abs(out['img'].astype(float) - ref).mean() < 4
    # EXIF-rotated: the original frame is the displayed (rotated) one.
    path, _ = big_jpeg(tmp_path, exif=exif_orientation_bytes(6))
    out = load(dict(img_path=path))
    assert out['img'].shape == (500, 375, 3)
    assert out['ori_shape'] == (2000, 1500)
    # Without reduce_decode the image is full size.
    assert LoadImageRobust()(dict(img_path=path))['img'].shape == (2000,
                                                                   1500, 3)


def test_invalid_arguments():
    with pytest.raises(ValueError, match='channel_order'):
        LoadImageRobust(channel_order='hsv')
    with pytest.raises(ValueError, match='reduce_decode'):
        LoadImageRobust(reduce_decode=dict(crop_ratio_min=0.08))


def test_tiny_image_is_skipped_and_counted(image_zoo, tmp_path):
    root, _ = image_zoo
    log_file = file_logger(tmp_path)
    load = LoadImageRobust()
    assert load.min_size == 64
    tiny = osp.join(root, 'tiny.jpg')
    for _ in range(3):
        assert load(dict(img_path=tiny)) is None
    assert load(dict(img_path=osp.join(root, 'empty.jpg'))) is None
    assert load.skipped == {'unreadable': 1, 'too small': 1}
    with open(log_file) as f:
        log = f.read()
    assert log.count('skipped too small image') == 1
    assert '40x30 pixels, shorter side below min_size=64' in log
    assert '(files skipped so far in this process: 1 unreadable, ' \
        '1 too small)' in log
    # the size checked is the full-resolution one after EXIF rotation
    out = LoadImageRobust(min_size=0)(dict(img_path=tiny))
    assert out['img'].shape == (30, 40, 3)
    assert LoadImageRobust(min_size=480)(
        dict(img_path=osp.join(root, 'exif_rot6.jpg'))) is not None
    assert LoadImageRobust(min_size=481)(
        dict(img_path=osp.join(root, 'exif_rot6.jpg'))) is None
    with pytest.raises(ValueError, match='min_size'):
        LoadImageRobust(min_size=-1)


@pytest.mark.parametrize('name', ['cut_eoi.jpg', 'zeroed_eoi.jpg'])
def test_corrupt_jpeg_with_end_marker_is_skipped_once(image_zoo, tmp_path,
                                                       name):
    root, _ = image_zoo
    path = osp.join(root, name)
    log_file = file_logger(tmp_path)
    load = LoadImageRobust(reduce_decode=dict(
        crop_ratio_min=0.08, aspect_ratio_range=(3 / 4, 4 / 3),
        min_decoded_side=64))
    assert load.decode_factor(640, 480) == 2  # the scaled path is strict too
    for _ in range(2):
        assert load(dict(img_path=path)) is None
    assert skipped_files(log_file) == [path]  # named once
    with open(log_file) as f:
        assert 'Corrupt JPEG data' in f.read()
