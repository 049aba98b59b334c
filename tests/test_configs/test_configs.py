# Copyright (c) mmselfemd contributors. All rights reserved.
"""Every config under configs/ loads and its model builds (SyncBN is
reverted to BN after the build with mmengine's revert_sync_batchnorm)."""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import DefaultScope

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                         recursive=True)
    if '_base_' not in p)
# the study configs (projects/transfer_study/configs/) describe runs, not
# models; projects/transfer_study/tests/ loads them


def test_configs_found():
    names = {osp.basename(p) for p in CONFIGS}
    assert 'selfemd_resnet50_8xb32-coslr-800e_coco.py' in names
    assert 'faster-rcnn_r50-pre_fpn-syncbn_8xb2-1x_coco.py' in names
    assert len(CONFIGS) >= 12


@pytest.mark.parametrize(
    'path', CONFIGS, ids=[osp.relpath(p, ROOT) for p in CONFIGS])
def test_config_builds(path):
    cfg = Config.fromfile(path)
    scope = cfg.get('default_scope', 'mmselfemd')
    assert scope in ('mmselfemd', 'mmdet'), scope
    model_cfg = copy.deepcopy(cfg.model)
    if scope == 'mmdet':
        from mmdet.registry import MODELS
        from mmdet.utils import register_all_modules
        register_all_modules(init_default_scope=False)
        # no weights are loaded here: only the architecture is checked
        model_cfg['backbone'].pop('init_cfg', None)
    else:
        from mmselfemd.registry import MODELS
        from mmselfemd.utils import register_all_modules
        register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope(scope):
        model = revert_sync_batchnorm(MODELS.build(model_cfg))
    assert sum(p.numel() for p in model.parameters()) > 1e6
    if cfg.model.type == 'SelfEMD':
        # the recipes keep the C5 map: a 224 px view -> 7x7 for the ResNet-50
        # default; the study's dilated last stage (stride 16) gives 7x7 at
        # 112 px
        model.eval()
        size = cfg.train_dataloader.dataset.pipeline[1].transforms[0][0].scale
        dilated = cfg.model.backbone.get('strides', (1, 2, 2, 2))[-1] == 1
        stride = 16 if dilated else 32
        with torch.no_grad():
            feats = model(torch.zeros(1, 3, size, size), mode='tensor')
        assert feats[-1].shape[-2:] == (size // stride, size // stride)
    # pretraining configs build their dataset type and pipeline
    if scope == 'mmselfemd':
        from mmcv.transforms import Compose
        with DefaultScope.overwrite_default_scope(scope):
            Compose(cfg.train_dataloader.dataset.pipeline)


def test_dilated_detector_keeps_pretraining_strides():
    """The second study's d16 detector: C5 at stride 16 as in pretraining
    (same dilation), both top FPN inputs 10x10 at 160 px, anchors and RoI
    extractor told the real strides, anchor sizes those of stride 32."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    det = osp.join(ROOT, 'configs', 'benchmarks', 'mmdetection', 'scenes')
    cfg = Config.fromfile(
        osp.join(det, 'faster-rcnn_r18-d16-pre_fpn_1xb8-300it_scenes.py'))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg['backbone'].pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(model_cfg).eval()
    with torch.no_grad():
        feats = model.backbone(torch.zeros(1, 3, 160, 160))
        outs = model.neck(feats)
    assert [f.shape[-1] for f in feats] == [40, 20, 10, 10]
    assert [o.shape[-1] for o in outs] == [40, 20, 10, 10, 5]
    gen = model.rpn_head.prior_generator
    assert [s[0] for s in gen.strides] == [4, 8, 16, 16, 32]
    # ratios (0.5, 1, 2): the square anchor is the second
    sizes = [float(b[1, 2] - b[1, 0]) for b in gen.base_anchors]
    assert sizes == [32.0, 64.0, 128.0, 256.0, 512.0]
    assert model.roi_head.bbox_roi_extractor.featmap_strides == [4, 8, 16,
                                                                 16]


def test_study_chosen_defaults_are_what_configs_use():
    """docs/en/advanced_guides/model.md's defaults table: two large views,
    no small views, eps 0.1 relative to the doubly centred cost's spread
    (eps_mode 'std') with 30 Sinkhorn iterations. The head's signature,
    the COCO default, the demo and the second study's Self-EMD variants
    must agree, and the SPC ablation must differ from the default only by
    its small views."""
    import inspect

    from mmselfemd.models.heads import SpatialEMDHead
    params = inspect.signature(SpatialEMDHead).parameters
    default = ('std', 0.1, 30)
    assert (params['eps_mode'].default, params['eps'].default,
            params['num_iters'].default) == default
    sel = osp.join(ROOT, 'configs', 'selfemd')
    for name in ('selfemd_resnet50_8xb32-coslr-800e_coco.py',
                 'selfemd_resnet18_1xb32-coslr-100it_demo.py',
                 'selfemd_resnet50_8xb32-spc-coslr-800e_coco.py'):
        head = Config.fromfile(osp.join(sel, name)).model.head
        assert (head.eps_mode, head.eps, head.num_iters) == default, name
    study = Config.fromfile(
        osp.join(ROOT, 'projects', 'transfer_study', 'configs',
                 'selfemd_vs_byol_r18-d16_1000it_scenes.py'))
    for v in study.variants:
        if v['name'].startswith(('selfemd', 'spc')) and 'cfg_options' in v:
            opts = v['cfg_options']
            assert (opts['model.head.eps_mode'], opts['model.head.eps'],
                    opts['model.head.num_iters']) == default, v['name']

    def num_views(name):
        pipeline = Config.fromfile(
            osp.join(sel, name)).train_dataloader.dataset.pipeline
        mv = [t for t in pipeline if t['type'] == 'MultiViewWithBoxes'][0]
        return sum(mv['num_views']), mv.get('small_view_crop') is not None

    assert num_views('selfemd_resnet50_8xb32-coslr-800e_coco.py') == (2,
                                                                       False)
    assert num_views('selfemd_resnet18_1xb32-coslr-100it_demo.py') == (2,
                                                                        False)
    assert num_views('selfemd_resnet50_8xb32-spc-coslr-800e_coco.py') == (2,
                                                                          True)


def test_study_byol_is_built_from_the_selfemd_recipe():
    """The study's BYOL baseline takes its backbone, projector and
    predictor from the Self-EMD recipe (widths written once), with
    mmpretrain's own loss."""
    sel = osp.join(ROOT, 'configs', 'selfemd')
    emd = Config.fromfile(
        osp.join(sel, 'selfemd_resnet18-d16_1xb32-coslr-200it_scenes.py'))
    byol = Config.fromfile(
        osp.join(sel, 'byol_resnet18-d16_1xb32-coslr-200it_scenes.py'))
    assert byol.model.type == 'BYOL'
    assert byol.model.backbone == emd.model.backbone
    assert byol.model.neck == emd.model.global_neck
    assert byol.model.head.predictor == emd.model.global_head.predictor
    assert byol.model.head.loss == dict(type='CosineSimilarityLoss')
    assert byol.model.base_momentum == emd.model.base_momentum
    mv = byol.train_dataloader.dataset.pipeline[1]
    assert mv.num_views == [1, 1] and 'small_view_crop' not in mv
