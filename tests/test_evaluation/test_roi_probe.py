# Copyright (c) mmselfemd contributors. All rights reserved.
"""RoI probe and its hook: the probe must tell backbones apart."""
import json
import logging
import os.path as osp
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.visualization import Visualizer
from torchvision.ops import box_iou

from mmselfemd.engine.hooks import RoIProbeHook
from mmselfemd.evaluation import RoIProbe
from mmselfemd.utils.scalars import load_scalars

COLOURS = [(0, 0, 230), (0, 210, 0), (230, 0, 0)]  # BGR: red, green, blue


def _write_split(root, split, num, seed):
    """Grey 96 px images with 1-2 solid boxes; the class is the colour."""
    rng = np.random.RandomState(seed)
    images, anns = [], []
    osp_dir = osp.join(root, split)
    import os
    os.makedirs(osp_dir, exist_ok=True)
    for i in range(num):
        img = np.full((96, 96, 3), 128, np.uint8)
        for _ in range(rng.randint(1, 3)):
            cls = rng.randint(3)
            w, h = rng.randint(24, 40, 2)
            x, y = rng.randint(0, 96 - w), rng.randint(0, 96 - h)
            img[y:y + h, x:x + w] = COLOURS[cls]
            anns.append(dict(id=len(anns) + 1, image_id=i + 1,
                             category_id=cls + 1,
                             bbox=[float(x), float(y), float(w), float(h)],
                             area=float(w * h), iscrowd=0))
        name = f'{i:03d}.png'
        cv2.imwrite(osp.join(osp_dir, name), img)
        images.append(dict(id=i + 1, file_name=name, width=96, height=96))
    ann_file = osp.join(root, f'{split}.json')
    with open(ann_file, 'w') as f:
        json.dump(dict(images=images, annotations=anns,
                       categories=[dict(id=c + 1, name=f'c{c}')
                                   for c in range(3)]), f)
    return ann_file


@pytest.fixture(scope='module')
def probe(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('probe'))
    train = _write_split(root, 'train', 40, 0)
    val = _write_split(root, 'val', 30, 1)
    return RoIProbe(train, osp.join(root, 'train'), val,
                    osp.join(root, 'val'), img_scale=96, max_iter=100)


class ColourBackbone(nn.Module):
    """Sees colour: C4/C5 are average-pooled RGB (stride 16/32)."""

    def __init__(self, constant: bool = False):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))
        self.out_indices = (3, )
        self.constant = constant

    def forward(self, x):
        outs = []
        for idx in self.out_indices:
            stride = 16 if idx == 2 else 32
            f = F.avg_pool2d(x, stride, ceil_mode=True)
            outs.append(torch.zeros_like(f) if self.constant else f)
        return tuple(outs)


def test_probe_separates_informative_from_blind_backbones(probe):
    seeing = probe.evaluate(ColourBackbone())
    blind = probe.evaluate(ColourBackbone(constant=True))
    # 3 colours + background: chance is 1/4 balanced accuracy
    assert seeing['bacc'] > 0.8
    assert blind['bacc'] <= 0.25 + 1e-6
    assert seeing['num_val_rois'] == blind['num_val_rois'] > 30
    # deterministic: the same boxes and classifier for the same backbone
    assert probe.evaluate(ColourBackbone()) == seeing


def test_probe_restores_backbone_state(probe):
    bb = ColourBackbone()
    bb.train()
    probe.evaluate(bb)
    assert bb.training and bb.out_indices == (3, )


def test_background_boxes_respect_iou_bands(probe):
    _, rois, labels = probe._prepare('val')
    bg = labels == probe.num_classes
    assert bg.any() and (~bg).any()
    for idx in rois[:, 0].unique():
        sel = rois[:, 0] == idx
        gt = rois[sel & ~bg][:, 1:]
        neg = rois[sel & bg][:, 1:]
        if len(neg):
            assert box_iou(neg, gt).max() < probe.neg_iou_high


def test_probe_input_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.json'):
        RoIProbe(str(tmp_path / 'missing.json'), '', '', '')
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(dict(images=[])))
    with pytest.raises(KeyError, match='annotations'):
        RoIProbe(str(bad), '', str(bad), '')


def test_hook_logs_scalars_at_interval(probe, tmp_path):
    vis = Visualizer(
        name='probe_hook_test', save_dir=str(tmp_path),
        vis_backends=[dict(type='LocalVisBackend')])
    model = nn.Module()
    model.backbone = ColourBackbone()
    runner = SimpleNamespace(
        model=model, visualizer=vis, iter=0, max_iters=5,
        logger=logging.getLogger('probe_hook_test'))
    hook = RoIProbeHook(probe={}, interval=2)
    hook._probe = probe  # built already
    for it in range(5):
        runner.iter = it
        hook.after_train_iter(runner, it)
    recs = load_scalars(str(tmp_path / 'vis_data' / 'scalars.json'))
    # iterations 2, 4 (interval) and 5 (last)
    assert [r['step'] for r in recs] == [2, 4, 5]
    assert all(set(r) >= {'probe/bacc', 'probe/acc', 'probe/fg_acc'}
               for r in recs)
    assert recs[0]['probe/bacc'] > 0.8
    with pytest.raises(ValueError, match='interval'):
        RoIProbeHook(probe={}, interval=0)


def test_probe_tool(probe, tmp_path):
    """The CLI probes random init and a saved backbone (the same weights
    give the same scores) and refuses a backbone of another shape."""
    import subprocess
    import sys

    from mmpretrain.models import ResNet
    root = osp.dirname(probe.splits['train'][0][0])
    data = osp.dirname(root)
    cfg = ['depth=18', 'base_channels=16', 'stem_channels=16']
    torch.manual_seed(0)
    bb = ResNet(depth=18, base_channels=16, stem_channels=16)
    ckpt = tmp_path / 'bb.pth'
    torch.save({'state_dict': {f'backbone.{k}': v
                               for k, v in bb.state_dict().items()}}, ckpt)
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    base = [sys.executable, 'tools/analysis_tools/roi_probe.py',
            '--train-ann', osp.join(data, 'train.json'), '--train-img',
            osp.join(data, 'train'), '--val-ann', osp.join(data, 'val.json'),
            '--val-img', osp.join(data, 'val'), '--img-scale', '96']
    out = tmp_path / 'scores.json'
    run = subprocess.run(base + ['random', str(ckpt), '--backbone-cfg', *cfg,
                                 '--out', str(out)],
                         cwd=repo, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    scores = json.loads(out.read_text())
    assert set(scores) == {'random', str(ckpt)}
    assert 0 <= scores[str(ckpt)]['bacc'] <= 1
    bad = subprocess.run(base + [str(ckpt), '--backbone-cfg', 'depth=18'],
                         cwd=repo, capture_output=True, text=True)
    assert bad.returncode == 1
    assert 'does not fit' in bad.stderr and 'Traceback' not in bad.stderr


def test_node_cos_detects_spatial_collapse(probe):
    """A map that repeats one vector everywhere has node_cos 1; a map that
    follows the image has a lower one."""
    class Collapsed(ColourBackbone):
        def forward(self, x):
            outs = super().forward(x)
            return tuple(o.mean((2, 3), keepdim=True).expand_as(o)
                         for o in outs)

    seeing = probe.evaluate(ColourBackbone())
    collapsed = probe.evaluate(Collapsed())
    assert abs(collapsed['node_cos'] - 1) < 1e-5
    assert seeing['node_cos'] < 0.99
    # the collapsed map still knows the colours present, not where they are
    assert collapsed['bacc'] < seeing['bacc']
