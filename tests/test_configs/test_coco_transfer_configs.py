# Copyright (c) mmselfemd contributors. All rights reserved.
"""COCO detection transfer configs: the protocol, the Self-EMD checkpoint
refused until given, and the supervised / BYOL ImageNet baselines and the
multi-scale variant, which differ from it only where they say. Nothing is
downloaded: remote checkpoints are checked by address and hash prefix. The
check hook on these configs: tests/test_engine/test_hooks/."""
import glob
import os.path as osp

import pytest
import yaml
from mmengine.config import Config
from test_engine.test_hooks.detection_helpers import (
    COCO,
    COCO_BYOL,
    COCO_SUP,
    FASTER_1X,
    build_check_hook,
    build_detector,
    load_config,
)

from mmselfemd.apis import hash_prefix_from_filename
from mmselfemd.engine.hooks import NO_CHECKPOINT, PretrainedBackboneError

CONFIGS = sorted(glob.glob(osp.join(COCO, '*.py')))
SUP, BYOL = COCO_SUP, COCO_BYOL
MS = osp.join(COCO, 'mask-rcnn_r50-pre_fpn-syncbn_8xb2-ms-1x_coco.py')
MMPRETRAIN_BYOL = 'byol_resnet50_16xb256-coslr-200e_in1k'


def _mmpretrain_file(relpath: str) -> str:
    import mmpretrain
    return osp.join(osp.dirname(mmpretrain.__file__), '.mim', relpath)


def test_configs_exist():
    names = {osp.basename(p) for p in CONFIGS}
    assert names == {
        'faster-rcnn_r50-pre_fpn-syncbn_8xb2-1x_coco.py',
        'faster-rcnn_r50-pre_fpn-syncbn_8xb2-2x_coco.py',
        'faster-rcnn_r50-scratch_fpn-syncbn_8xb2-1x_coco.py',
        'mask-rcnn_r50-pre_fpn-syncbn_8xb2-1x_coco.py',
        # baselines and the multi-scale variant (test_baseline_transfer_*)
        'faster-rcnn_r50-sup-in1k-pre_fpn-syncbn_8xb2-1x_coco.py',
        'faster-rcnn_r50-byol-in1k-pre_fpn-syncbn_8xb2-1x_coco.py',
        'mask-rcnn_r50-pre_fpn-syncbn_8xb2-ms-1x_coco.py',
    }


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_protocol(path):
    cfg = load_config(path)
    assert cfg.default_scope == 'mmdet'
    backbone = cfg.model.backbone
    assert backbone.type == 'ResNet' and backbone.depth == 50
    assert backbone.frozen_stages == -1 and backbone.norm_eval is False
    assert backbone.norm_cfg.type == 'SyncBN'
    assert cfg.model.neck.type == 'FPN'
    assert cfg.model.neck.norm_cfg.type == 'SyncBN'
    bbox_head = cfg.model.roi_head.bbox_head
    assert bbox_head.type == 'Shared4Conv1FCBBoxHead'
    assert bbox_head.norm_cfg.type == 'SyncBN'
    if 'mask_head' in cfg.model.roi_head:
        assert cfg.model.roi_head.mask_head.norm_cfg.type == 'SyncBN'
    assert cfg.train_dataloader.batch_size * 8 == 16
    assert cfg.auto_scale_lr.base_batch_size == 16
    epochs = 24 if '2x' in path else 12
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.custom_imports.imports == ['mmselfemd.engine.hooks']
    assert build_check_hook(cfg).allow_random_init == ('scratch' in path)
    if 'scratch' in path:
        assert backbone.init_cfg is None
    elif '-in1k-pre' in path:  # a fixed baseline checkpoint
        assert backbone.init_cfg.checkpoint != NO_CHECKPOINT
    else:
        assert backbone.init_cfg == dict(
            type='Pretrained', checkpoint=NO_CHECKPOINT, prefix='backbone.')
    # never mmdet's ImageNet fallback
    assert 'torchvision://' not in cfg.pretty_text


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_model_builds(path):
    model = build_detector(load_config(path))
    assert model.backbone.depth == 50


def test_env_var_sets_checkpoint(monkeypatch):
    monkeypatch.setenv('MMSELFEMD_PRETRAINED', '/data/selfemd_r50.pth')
    for path in CONFIGS:
        if 'scratch' in path or '-in1k-pre' in path:
            continue
        cfg = Config.fromfile(path)
        assert cfg.model.backbone.init_cfg.checkpoint == \
            '/data/selfemd_r50.pth'


@pytest.mark.parametrize('path', [SUP, BYOL])
def test_same_protocol_as_the_selfemd_config(path):
    """Only the backbone's initialisation differs from the config that
    evaluates Self-EMD checkpoints."""
    cfg, ref = load_config(path).to_dict(), load_config(FASTER_1X).to_dict()
    init, ref_init = (c['model']['backbone'].pop('init_cfg')
                      for c in (cfg, ref))
    assert init['checkpoint'] not in (NO_CHECKPOINT, '')
    assert ref_init['checkpoint'] == NO_CHECKPOINT
    assert cfg == ref
    # the check hook stays on: a remote checkpoint is verified and checked
    hook = build_check_hook(load_config(path))
    assert hook.allow_random_init is False


@pytest.mark.parametrize('path', [SUP, BYOL])
def test_fixed_checkpoint_ignores_the_env_var(path):
    cfg = load_config(path, pretrained='/data/selfemd_r50.pth')
    assert cfg.model.backbone.init_cfg.checkpoint != '/data/selfemd_r50.pth'


def test_supervised_is_torchvision_resnet50_v1():
    """The file of ``torchvision://resnet50``, mmdet's default init, given
    by its URL (the check hook verifies URLs, not mmengine's schemes)."""
    from mmengine.runner.checkpoint import get_torchvision_models
    from torchvision.models import ResNet50_Weights
    init = load_config(SUP).model.backbone.init_cfg
    url = get_torchvision_models()['resnet50']
    assert init == dict(type='Pretrained', checkpoint=url)
    # the weights mmdet's own ResNet-50 configs start from (76.1 top-1)
    assert url == ResNet50_Weights.IMAGENET1K_V1.url
    assert hash_prefix_from_filename(url) == '0676ba61'


def test_supervised_layout_matches_the_backbone():
    """torchvision's ResNet-50 keys (no prefix) are the detector backbone's
    keys with the same shapes, plus the unused ``fc`` classifier."""
    from torchvision.models import resnet50
    source = resnet50(weights=None).state_dict()  # no download
    backbone = build_detector(load_config(SUP)).backbone.state_dict()
    assert set(source) - set(backbone) == {'fc.weight', 'fc.bias'}
    assert set(backbone) <= set(source)
    for key, value in backbone.items():
        assert tuple(source[key].shape) == tuple(value.shape), key


def test_byol_is_mmpretrain_published_checkpoint():
    metafile = _mmpretrain_file('configs/byol/metafile.yml')
    with open(metafile) as f:
        models = {m['Name']: m for m in yaml.safe_load(f)['Models']}
    url = models[MMPRETRAIN_BYOL]['Weights']
    init = load_config(BYOL).model.backbone.init_cfg
    assert init == dict(type='Pretrained', checkpoint=url, prefix='backbone.')
    assert hash_prefix_from_filename(url) == 'de817331'


def test_multiscale_matches_mmpretrain_benchmark():
    ours = load_config(MS)
    theirs = Config.fromfile(
        _mmpretrain_file('configs/byol/benchmarks/mask-rcnn_r50_fpn_ms-1x_'
                         'coco.py'))
    assert ours.train_dataloader.dataset.pipeline == \
        theirs.train_dataloader.dataset.pipeline
    assert [t['type'] for t in ours.train_dataloader.dataset.pipeline] == [
        'LoadImageFromFile', 'LoadAnnotations', 'RandomChoiceResize',
        'RandomFlip', 'PackDetInputs'
    ]
    for key in ('neck', 'roi_head', 'rpn_head', 'train_cfg', 'test_cfg'):
        assert ours.model[key] == theirs.model[key], key
    ours_bb, theirs_bb = (dict(c.model.backbone) for c in (ours, theirs))
    ours_bb.pop('init_cfg'), theirs_bb.pop('init_cfg')
    assert ours_bb == theirs_bb
    for key in ('test_dataloader', 'val_dataloader', 'param_scheduler',
                'optim_wrapper', 'train_cfg'):
        assert ours[key] == theirs[key], key
    assert ours.train_dataloader.batch_size == 2  # x 8 GPUs = 16


def test_multiscale_refuses_without_checkpoint():
    cfg = load_config(MS)
    assert cfg.model.backbone.init_cfg.checkpoint == NO_CHECKPOINT
    with pytest.raises(PretrainedBackboneError, match='No pretrained'):
        build_check_hook(cfg).check(build_detector(cfg))
