# Copyright (c) mmselfemd contributors. All rights reserved.
"""MultiViewVisualizer: the drawn boxes are where the crops were taken."""
import os.path as osp

import mmcv
import numpy as np
import pytest
from mmcv.transforms import Compose
from mmengine.config import Config

from mmselfemd.utils import register_all_modules
from mmselfemd.visualization import (
    MultiViewVisualizer,
    find_grid_sizes,
    sample_multi_view,
    view_colors,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
COCO_RECIPE = osp.join(REPO, 'configs', '_base_', 'datasets',
                       'coco_selfemd.py')


@pytest.fixture(scope='module')
def pipeline():
    """The SPC recipe: 2 large views, 2 SPC small views each."""
    register_all_modules(init_default_scope=True)
    return Compose(Config.fromfile(COCO_RECIPE).spc_train_pipeline)


@pytest.fixture(scope='module')
def grey_image(tmp_path_factory) -> str:
    """A flat mid-grey 400x300 photo: no colour of the palette in it."""
    path = str(tmp_path_factory.mktemp('grey') / 'grey.png')
    mmcv.imwrite(np.full((300, 400, 3), 128, np.uint8), path)
    return path


def _extent(img: np.ndarray, color, tol: int = 40):
    """Bounding box ``x1, y1, x2, y2`` of the pixels of ``color``."""
    mask = (np.abs(img.astype(int) - np.array(color)).max(-1) <= tol)
    ys, xs = np.nonzero(mask)
    assert len(xs), f'no pixel of colour {color}'
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])


def test_recorded_small_boxes_inside_parents(pipeline, grey_image):
    for seed in range(10):
        s = sample_multi_view(pipeline, grey_image, seed=seed)
        assert s.parent.tolist() == [-1, -1, 0, 0, 1, 1]
        assert s.source.shape == (300, 400, 3)
        for i, p in enumerate(s.parent):
            if p < 0:
                continue
            small, big = s.crop_boxes[i], s.crop_boxes[p]
            assert (small[:2] >= big[:2]).all() and \
                (small[2:] <= big[2:]).all(), (seed, i, small, big)
        assert [v.shape for v in s.views] == [(224, 224, 3)] * 2 + [
            (96, 96, 3)
        ] * 4


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_drawn_small_boxes_inside_parents(pipeline, grey_image, tmp_path,
                                          seed):
    """Read back from the PNG: in the source panel of row k, the box of
    each small view of k is drawn inside the box of k, where the recorded
    crop boxes say."""
    s = sample_multi_view(pipeline, grey_image, seed=seed)
    vis = MultiViewVisualizer(name=f'test_draw_{seed}')
    drawn, panels = vis.draw_multi_view(s.source, s.views, s.crop_boxes,
                                        s.flips, s.parent,
                                        find_grid_sizes(pipeline))
    png = str(tmp_path / 'sample.png')
    mmcv.imwrite(drawn[..., ::-1], png)
    img = mmcv.imread(png, channel_order='rgb')
    colors = view_colors(s.parent)
    sources = [p for p in panels if p.kind == 'source']
    assert [p.view for p in sources] == [0, 1]  # one row per large view
    for panel in sources:
        k = panel.view
        x1, y1, x2, y2 = panel.box
        pad = 2  # lines on the panel's border reach over it
        region = img[y1 - pad:y2 + pad, x1 - pad:x2 + pad]
        origin = np.array([x1 - pad, y1 - pad] * 2)

        def expected(i):
            return s.crop_boxes[i] * panel.scale + np.array(
                [x1, y1, x1, y1]) - origin

        parent_box = _extent(region, colors[k])
        np.testing.assert_allclose(parent_box, expected(k), atol=3)
        children = [i for i in range(len(s.parent)) if s.parent[i] == k]
        assert len(children) == 2
        for i in children:
            box = _extent(region, colors[i])
            np.testing.assert_allclose(box, expected(i), atol=3)
            # inside, up to the lines' width (a child on the parent's
            # edge covers part of the parent's line)
            assert (box[:2] >= parent_box[:2] - 3).all() and \
                (box[2:] <= parent_box[2:] + 3).all()
        # the small views of the other large views are not drawn here
        for i in range(len(s.parent)):
            if s.parent[i] >= 0 and s.parent[i] != k:
                near = np.abs(region.astype(int) - np.array(colors[i]))
                assert (near.max(-1) <= 30).sum() == 0, (k, i)
    # each view's picture is framed in its colour
    for panel in panels:
        if panel.kind == 'view':
            x1, y1, x2, y2 = panel.box
            frame = img[y1 - 4:y2 + 4, x1 - 4:x2 + 4]
            np.testing.assert_allclose(
                _extent(frame, colors[panel.view]),
                [1, 1, x2 - x1 + 7, y2 - y1 + 7], atol=2)


def test_rejects_inconsistent_sample():
    vis = MultiViewVisualizer(name='test_reject')
    img = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match='2 views but 3 crop boxes'):
        vis.draw_multi_view(img, [img, img], np.zeros((3, 4)),
                            np.zeros(3, bool), np.array([-1, -1, 0]))
    with pytest.raises(ValueError, match='no large view'):
        vis.draw_multi_view(img, [img], np.zeros((1, 4)), np.zeros(1, bool),
                            np.array([0]))


def test_sample_needs_box_recording_pipeline(grey_image):
    register_all_modules(init_default_scope=True)
    plain = Compose([
        dict(type='LoadImageFromFile'),
        dict(type='PackInputs'),
    ])
    with pytest.raises(ValueError, match='does not record'):
        sample_multi_view(plain, grey_image)
