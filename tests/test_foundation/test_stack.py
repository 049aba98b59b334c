# Copyright (c) mmselfemd contributors. All rights reserved.
"""The pinned stack works: mmcv ops on CPU and an mmdet detector."""
import os.path as osp

import pytest
import torch


def test_roi_align_hand_made():
    from mmcv.ops import RoIAlign
    feat = torch.arange(16, dtype=torch.float32).view(1, 1, 4, 4)
    # box (0, 0)-(2, 2) in aligned coordinates: 2x2 bins centred at pixels
    # (0, 0), (1, 0), (0, 1), (1, 1) shifted by -0.5 -> bilinear values.
    rois = torch.tensor([[0., 0., 0., 2., 2.]])
    out = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=1,
                   aligned=True)(feat, rois)
    expected = torch.tensor([[[[0., 1.], [4., 5.]]]])
    torch.testing.assert_close(out, expected)
    out = RoIAlign((1, 1), spatial_scale=1.0, sampling_ratio=1,
                   aligned=True)(feat, rois)
    assert out.item() == pytest.approx(2.5)


def test_nms_hand_made():
    from mmcv.ops import nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.],
                          [20., 20., 30., 30.], [0., 0., 10., 9.]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.95])
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [3, 2]
    torch.testing.assert_close(dets[:, 4], torch.tensor([0.95, 0.7]))


def test_mmdet_faster_rcnn_losses_on_tiny_image():
    import mmdet
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmdet.utils import register_all_modules as mmdet_register
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.structures import InstanceData
    cfg_path = osp.join(
        osp.dirname(mmdet.__file__), '.mim', 'configs', 'faster_rcnn',
        'faster-rcnn_r50_fpn_1x_coco.py')
    cfg = Config.fromfile(cfg_path)
    cfg.model.backbone.init_cfg = None
    mmdet_register(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    model.train()
    img = torch.rand(1, 3, 64, 96) * 255
    sample = DetDataSample(metainfo=dict(
        img_shape=(64, 96), pad_shape=(64, 96), ori_shape=(64, 96),
        scale_factor=(1., 1.), batch_input_shape=(64, 96)))
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[10., 10., 50., 40.]]),
        labels=torch.tensor([3]))
    data = model.data_preprocessor(
        dict(inputs=[img[0]], data_samples=[sample]), training=True)
    losses = model(**data, mode='loss')
    for key in ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'):
        assert key in losses
    total = sum(
        v.sum() if torch.is_tensor(v) else sum(x.sum() for x in v)
        for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    # mmdet's config freezes the stem (frozen_stages=1), trains the rest
    assert model.backbone.conv1.weight.grad is None
    assert model.backbone.layer4[0].conv1.weight.grad.abs().sum() > 0
