# Copyright (c) mmselfemd contributors. All rights reserved.
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmcv.transforms import BaseTransform
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.registry import init_default_scope
from skimage import data

from mmselfemd.datasets.transforms import (
    FastColorJitter,
    FastGaussianBlur,
    MultiViewWithBoxes,
    PackMultiViewInputs,
    RandomResizedCropWithBox,
    SpatialPyramidCrop,
)
from mmselfemd.registry import TRANSFORMS

from ..utils import CONFIG


def coord_image(h=300, w=400, scale=1.0):
    """float32 image whose channels hold the original x and y coordinate
    (pixel centre) of each pixel; ``scale`` mimics a reduced decode."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.dstack([(xs + .5) * scale, (ys + .5) * scale,
                      np.zeros_like(xs)])


def assert_content_matches_box(view, box, flipped=False, tol=1.0):
    """The view's first/last rows and columns come from the box's edges.

    With nearest-neighbour resizing an output pixel covers ``box size /
    view size`` source pixels, so the edges agree within that plus ``tol``
    (source pixels in the original frame).
    """
    x = view[..., 0]
    y = view[..., 1]
    if flipped:
        x = x[:, ::-1]
    x1, y1, x2, y2 = box
    tol_x = (x2 - x1) / view.shape[1] + tol
    tol_y = (y2 - y1) / view.shape[0] + tol
    assert abs(x[:, 0].mean() - x1) <= tol_x
    assert abs(x[:, -1].mean() - x2) <= tol_x
    assert abs(y[0].mean() - y1) <= tol_y
    assert abs(y[-1].mean() - y2) <= tol_y
    # x grows from left to right (so a flipped view was really mirrored)
    assert (x[:, -1] > x[:, 0]).all()


def test_rrc_box_matches_content():
    np.random.seed(0)
    crop = RandomResizedCropWithBox(64, interpolation='nearest')
    for _ in range(20):
        out = crop(dict(img=coord_image()))
        assert out['img'].shape == (64, 64, 3)
        box = out['crop_box']
        assert 0 <= box[0] < box[2] <= 400 and 0 <= box[1] < box[3] <= 300
        assert_content_matches_box(out['img'], box)


def test_rrc_box_in_original_frame_after_reduced_decode():
    np.random.seed(1)
    crop = RandomResizedCropWithBox(64, interpolation='nearest')
    for _ in range(10):
        # decoded at 1/2: 300x400 pixels cover an original 600x800 image
        out = crop(
            dict(
                img=coord_image(scale=2.0),
                crop_box=np.array([0, 0, 800, 600], np.float32)))
        box = out['crop_box']
        assert box[2] <= 800 and box[3] <= 600
        assert_content_matches_box(out['img'], box, tol=2)


def test_spc_boxes_inside_parent_and_counts():
    np.random.seed(2)
    crop = RandomResizedCropWithBox(64, interpolation='nearest')
    spc = SpatialPyramidCrop(
        size=24, grid_sizes=(2, 3), num_views=3, interpolation='nearest',
        downscale_interpolation=None)
    for _ in range(30):
        img = coord_image(scale=2.0)
        base = dict(img=img, crop_box=np.array([0, 0, 800, 600], np.float32))
        parent = crop(dict(base))['crop_box']
        out = spc(dict(base, parent_box=parent))
        assert len(out['img']) == len(out['crop_box']) == 3
        boxes = np.stack(out['crop_box'])
        assert len({tuple(b) for b in boxes.tolist()}) == 3  # distinct cells
        assert (boxes[:, :2] >= parent[:2] - 1e-3).all()
        assert (boxes[:, 2:] <= parent[2:] + 1e-3).all()
        for view, box in zip(out['img'], boxes):
            assert view.shape == (24, 24, 3)
            # a cell is 1/2 or 1/3 of the parent along each side
            ratio = (box[2] - box[0]) / (parent[2] - parent[0])
            assert 0.3 <= ratio <= 0.55
            assert_content_matches_box(view, box, tol=2)


def test_spc_arguments():
    with pytest.raises(ValueError, match='num_views'):
        SpatialPyramidCrop(grid_sizes=(1, ), num_views=2)
    with pytest.raises(ValueError, match='grid_sizes'):
        SpatialPyramidCrop(grid_sizes=(0, ))


@pytest.mark.parametrize('prob', [0., 1.])
def test_multiview_flips_are_honest(prob):
    np.random.seed(3)
    crop = dict(type='RandomResizedCropWithBox', scale=32,
                interpolation='nearest')
    flip = dict(type='RandomFlip', prob=prob, direction='horizontal')
    mv = MultiViewWithBoxes(
        transforms=[[crop, flip]],
        num_views=2,
        small_view_crop=dict(type='SpatialPyramidCrop', size=16,
                             num_views=2, interpolation='nearest',
                             downscale_interpolation=None),
        small_view_transforms=[flip])
    out = mv(dict(img=coord_image(), img_path='x.jpg'))
    assert len(out['img']) == 6
    np.testing.assert_array_equal(out['parent'], [-1, -1, 0, 0, 1, 1])
    assert out['flips'].tolist() == [bool(prob)] * 6
    for view, box, flipped in zip(out['img'], out['crop_boxes'],
                                  out['flips']):
        assert_content_matches_box(view, box, flipped)
    assert 'crop_box' not in out and 'flip' not in out


def test_multiview_rejects_vertical_flip():
    mv = MultiViewWithBoxes(
        transforms=[[
            dict(type='RandomResizedCropWithBox', scale=32),
            dict(type='RandomFlip', prob=1., direction='vertical')
        ]],
        num_views=1)
    with pytest.raises(ValueError, match='horizontal'):
        mv(dict(img=coord_image()))


def _config_pipeline(key: str = 'spc_train_pipeline'):
    init_default_scope('mmselfemd')
    cfg = Config.fromfile(CONFIG)
    return cfg, [TRANSFORMS.build(t) for t in cfg[key]]


def test_default_pipeline_contract(image_zoo):
    """The default recipe: two 224 px views, no small views."""
    root, _ = image_zoo
    _, pipeline = _config_pipeline('train_pipeline')
    np.random.seed(4)
    for name in ['astronaut.jpg', 'cmyk.jpg', 'gray16.png']:
        results = dict(img_path=osp.join(root, name), sample_idx=0)
        for t in pipeline:
            results = t(results)
        inputs, ds = results['inputs'], results['data_samples']
        assert [tuple(v.shape) for v in inputs] == [(3, 224, 224)] * 2
        assert ds.crop_boxes.shape == (2, 4)
        assert ds.parent.tolist() == [-1, -1]
        h, w = ds.ori_shape
        boxes = ds.crop_boxes
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= w).all()
        assert (boxes[:, 3] <= h).all()


def test_config_pipeline_contract(image_zoo):
    """The SPC ablation: two large views and two small views each."""
    root, _ = image_zoo
    cfg, pipeline = _config_pipeline()
    np.random.seed(4)
    samples = []
    for name in ['astronaut.jpg', 'cmyk.jpg', 'gray16.png']:
        results = dict(img_path=osp.join(root, name), sample_idx=0)
        for t in pipeline:
            results = t(results)
        samples.append(results)
        inputs, ds = results['inputs'], results['data_samples']
        assert [tuple(v.shape) for v in inputs] == [(3, 224, 224)] * 2 + [
            (3, 96, 96)
        ] * 4
        assert all(v.dtype == torch.uint8 for v in inputs)
        assert ds.crop_boxes.dtype == torch.float32
        assert ds.crop_boxes.shape == (6, 4)
        assert ds.flips.dtype == torch.bool and ds.flips.shape == (6, )
        assert ds.parent.tolist() == [-1, -1, 0, 0, 1, 1]
        # data fields, not metainfo: they move to the device with the sample
        assert {'crop_boxes', 'flips', 'parent'} <= set(ds.keys())
        h, w = ds.ori_shape
        boxes = ds.crop_boxes
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= w).all()
        assert (boxes[:, 3] <= h).all()
        for v in range(2, 6):
            parent = boxes[ds.parent[v]]
            assert (boxes[v, :2] >= parent[:2] - 1e-3).all()
            assert (boxes[v, 2:] <= parent[2:] + 1e-3).all()
    batch = default_collate(samples)
    assert len(batch['inputs']) == 6
    assert batch['inputs'][0].shape == (3, 3, 224, 224)
    assert torch.stack([s.crop_boxes for s in batch['data_samples']
                        ]).shape == (3, 6, 4)


def test_pack_checks_view_count():
    pack = PackMultiViewInputs()
    with pytest.raises(KeyError, match='MultiViewWithBoxes'):
        pack(dict(img=[np.zeros((4, 4, 3), np.uint8)]))
    with pytest.raises(ValueError, match='2 views'):
        pack(
            dict(
                img=[np.zeros((4, 4, 3), np.uint8)] * 2,
                crop_boxes=np.zeros((3, 4)),
                flips=np.zeros(2, bool),
                parent=-np.ones(2, int)))


def test_fast_color_jitter_matches_pillow_ops():
    img = mmcv.imresize(data.astronaut()[..., ::-1], (128, 128))  # BGR
    for kw, ref in [
        (dict(brightness=(1.3, 1.3)),
         mmcv.adjust_brightness(img, 1.3, backend='pillow')),
        (dict(contrast=(0.6, 0.6)),
         mmcv.adjust_contrast(img, 0.6, backend='pillow')),
        (dict(saturation=(1.4, 1.4)),
         mmcv.adjust_color(img, 1.4, backend='pillow')),
        (dict(hue=(0.1, 0.1)), mmcv.adjust_hue(img, 0.1, backend='pillow')),
    ]:
        out = FastColorJitter(**kw)(dict(img=img.copy()))['img']
        assert out.dtype == np.uint8 and out.shape == img.shape
        diff = np.abs(out.astype(int) - ref)
        assert diff.mean() < 2.5, (kw, diff.mean())


def test_fast_color_jitter_negative_hue_wraps():
    img = mmcv.imresize(data.astronaut()[..., ::-1], (64, 64))
    neg = FastColorJitter(hue=(-0.1, -0.1))(dict(img=img.copy()))['img']
    back = FastColorJitter(hue=(0.1, 0.1))(dict(img=neg.copy()))['img']
    assert np.abs(neg.astype(int) - img).mean() > 5  # it did change
    assert np.abs(back.astype(int) - img).mean() < 4  # and is reversible


def test_fast_gaussian_blur_close_to_pillow():
    img = mmcv.imresize(data.astronaut(), (128, 128))
    ours = FastGaussianBlur(radius=1.5, prob=1.)(dict(img=img.copy()))['img']
    ref = TRANSFORMS.build(dict(type='mmpretrain.GaussianBlur', radius=1.5,
                                prob=1.))(dict(img=img.copy()))['img']
    assert np.abs(ours.astype(int) - ref).mean() < 2
    assert np.abs(ours.astype(int) - img).mean() > 2  # it did blur


@pytest.mark.parametrize('wrap', [False, True])
def test_multiview_refuses_crop_that_does_not_record_its_box(wrap):
    plain = dict(type='mmpretrain.RandomResizedCrop', scale=32)
    large = [dict(type='RandomApply', transforms=[plain], prob=0.5)
             ] if wrap else [plain]
    with pytest.raises(ValueError) as info:
        MultiViewWithBoxes(transforms=[large], num_views=2)
    msg = str(info.value)
    assert 'large-view pipeline 0 uses RandomResizedCrop' in msg
    assert 'RandomResizedCropWithBox' in msg
    # the same in the small views' transforms
    with pytest.raises(ValueError, match='small_view_transforms uses '
                       'CenterCrop'):
        MultiViewWithBoxes(
            transforms=[[dict(type='RandomResizedCropWithBox', scale=32)]],
            num_views=2,
            small_view_crop=dict(type='SpatialPyramidCrop', size=16),
            small_view_transforms=[dict(type='CenterCrop', crop_size=8)])


class _UnknownCrop(BaseTransform):
    """A crop this package does not know, recording no box."""

    def transform(self, results):
        results['img'] = results['img'][10:50, 20:80]
        return results


def test_multiview_refuses_unknown_crop_at_run_time():
    mv = MultiViewWithBoxes(transforms=[[_UnknownCrop()]], num_views=1)
    with pytest.raises(ValueError) as info:
        mv(dict(img=coord_image(), crop_box=np.array([0, 0, 400, 300],
                                                     np.float32)))
    msg = str(info.value)
    assert 'large view 0 uses _UnknownCrop' in msg
    assert '(300, 400) to (40, 60) pixels' in msg


@pytest.mark.parametrize('wrap', [False, True])
def test_multiview_whole_image_resize_keeps_its_box(wrap):
    resize = dict(type='Resize', scale=(40, 30), interpolation='nearest')
    # inside a wrapper (always applied), the resize is still a resize
    step = dict(type='RandomApply', transforms=[resize],
                prob=1.0) if wrap else resize
    mv = MultiViewWithBoxes(transforms=[[step]], num_views=1)
    out = mv(dict(img=coord_image(), crop_box=np.array([0, 0, 400, 300],
                                                       np.float32)))
    np.testing.assert_array_equal(out['crop_boxes'], [[0, 0, 400, 300]])
    assert_content_matches_box(out['img'][0], out['crop_boxes'][0], tol=2)
