# Copyright (c) mmselfemd contributors. All rights reserved.
"""Detection transfer configs: protocol, refusal, pretrained backbone."""
import copy
import glob
import os
import os.path as osp
import subprocess
import sys
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import HOOKS, DefaultScope
from mmengine.runner import BaseLoop

from mmselfemd.engine.hooks import (
    NO_CHECKPOINT,
    PretrainedBackboneCheckHook,
    PretrainedBackboneError,
)

from .conftest import REPO, TOOLS, load_tool, tool_env

COCO = osp.join(REPO, 'configs', 'benchmarks', 'mmdetection', 'coco')
FASTER_1X = osp.join(COCO, 'faster-rcnn_r50-pre_fpn-syncbn_8xb2-1x_coco.py')
CONFIGS = sorted(glob.glob(osp.join(COCO, '*.py')))


def _swap_syncbn(cfg):
    """SyncBN -> BN everywhere (no process group on CPU tests)."""
    if isinstance(cfg, dict):
        return {
            k: ('BN' if k == 'type' and v == 'SyncBN' else _swap_syncbn(v))
            for k, v in cfg.items()
        }
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(_swap_syncbn(v) for v in cfg)
    return cfg


def _build_detector(cfg: Config):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(
            ConfigDict(_swap_syncbn(copy.deepcopy(cfg.model.to_dict()))))


def _hook(cfg: Config) -> PretrainedBackboneCheckHook:
    """Build the config's custom hook as the runner does (mmdet scope)."""
    (hook_cfg, ) = cfg.custom_hooks
    with DefaultScope.overwrite_default_scope('mmdet'):
        hook = HOOKS.build(copy.deepcopy(hook_cfg))
    assert isinstance(hook, PretrainedBackboneCheckHook)
    return hook


def _load(path: str) -> Config:
    """Load a config as if MMSELFEMD_PRETRAINED (and MMSELFEMD_VOC_ROOT)
    were not set."""
    with mock.patch.dict(os.environ):
        os.environ.pop('MMSELFEMD_PRETRAINED', None)
        os.environ.pop('MMSELFEMD_VOC_ROOT', None)
        return Config.fromfile(path)


@pytest.fixture(scope='module')
def faster_cfg():
    return _load(FASTER_1X)


@pytest.fixture(scope='module')
def faster_model(faster_cfg):
    return _build_detector(faster_cfg)


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
    cfg = _load(path)
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
    assert _hook(cfg).allow_random_init == ('scratch' in path)
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
    model = _build_detector(_load(path))
    assert model.backbone.depth == 50


def test_env_var_sets_checkpoint(monkeypatch):
    monkeypatch.setenv('MMSELFEMD_PRETRAINED', '/data/selfemd_r50.pth')
    for path in CONFIGS:
        if 'scratch' in path or '-in1k-pre' in path:
            continue
        cfg = Config.fromfile(path)
        assert cfg.model.backbone.init_cfg.checkpoint == \
            '/data/selfemd_r50.pth'


def test_refuses_without_checkpoint(faster_cfg, faster_model):
    with pytest.raises(PretrainedBackboneError) as err:
        _hook(faster_cfg).check(faster_model)
    msg = str(err.value)
    assert 'No pretrained backbone checkpoint was given' in msg
    assert 'model.backbone.init_cfg.checkpoint=PATH' in msg
    assert 'MMSELFEMD_PRETRAINED=PATH' in msg
    assert 'torchvision://resnet50' in msg


# http(s):// and zoo:// are downloaded and verified first:
# test_transfer_remote_checkpoint.py
@pytest.mark.parametrize('checkpoint', [
    'torchvision://resnet50', 'open-mmlab://resnet50_v1c', 's3://b/x.pth'
])
def test_refuses_remote_weights(faster_cfg, checkpoint):
    cfg = copy.deepcopy(faster_cfg)
    cfg.model.backbone.init_cfg.checkpoint = checkpoint
    with pytest.raises(PretrainedBackboneError, match='remote or model-zoo'):
        _hook(cfg).check(_build_detector(cfg))


def test_refuses_missing_file(faster_cfg, tmp_path):
    cfg = copy.deepcopy(faster_cfg)
    missing = str(tmp_path / 'nope.pth')
    cfg.model.backbone.init_cfg.checkpoint = missing
    with pytest.raises(PretrainedBackboneError, match='does not exist'):
        _hook(cfg).check(_build_detector(cfg))


def test_refuses_random_init_unless_allowed(faster_cfg):
    cfg = copy.deepcopy(faster_cfg)
    cfg.model.backbone.init_cfg = None
    model = _build_detector(cfg)
    with pytest.raises(PretrainedBackboneError, match='scratch'):
        PretrainedBackboneCheckHook().check(model)
    PretrainedBackboneCheckHook(allow_random_init=True).check(model)


def test_pretrained_weights_after_init_weights(faster_cfg, r50_checkpoint):
    cfg = copy.deepcopy(faster_cfg)
    cfg.model.backbone.init_cfg.checkpoint = r50_checkpoint
    model = _build_detector(cfg)
    _hook(cfg).check(model)  # passes
    model.init_weights()
    source = torch.load(r50_checkpoint, weights_only=True)['state_dict']
    loaded = model.backbone.state_dict()
    assert len(loaded) > 300
    for key, value in loaded.items():
        assert torch.equal(value, source['backbone.' + key]), key


def test_extracted_backbone_needs_prefix_none(faster_cfg, r50_checkpoint,
                                              tmp_path):
    extract = load_tool('model_converters/extract_backbone_weights.py')
    dst = str(tmp_path / 'backbone.pth')
    extract.main([r50_checkpoint, dst])
    cfg = copy.deepcopy(faster_cfg)
    cfg.model.backbone.init_cfg.checkpoint = dst
    with pytest.raises(PretrainedBackboneError,
                       match='already extracted backbone'):
        _hook(cfg).check(_build_detector(cfg))
    cfg.model.backbone.init_cfg.prefix = None
    model = _build_detector(cfg)
    _hook(cfg).check(model)
    model.init_weights()
    source = torch.load(dst, weights_only=True)['state_dict']
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, source[key]), key


def test_wrong_architecture(faster_cfg, r18_checkpoint):
    cfg = copy.deepcopy(faster_cfg)
    cfg.model.backbone.init_cfg.checkpoint = r18_checkpoint
    with pytest.raises(PretrainedBackboneError) as err:
        _hook(cfg).check(_build_detector(cfg))
    msg = str(err.value)
    assert r18_checkpoint in msg
    assert 'does not match the configured backbone ResNet' in msg
    assert 'It holds a ResNet-18 ((2, 2, 2, 2) basic blocks per stage), ' \
        'the config builds a ResNet-50 ((3, 4, 6, 3) bottleneck' in msg
    assert '"layer1.0.conv3.weight" (256, 64, 1, 1)' in msg  # missing
    assert '"layer1.0.conv1.weight" (64, 64, 3, 3) instead of ' \
        '(64, 64, 1, 1)' in msg  # other shape
    assert '\n' not in msg  # one paragraph


def test_checkpoint_without_backbone(faster_cfg, no_backbone_checkpoint):
    cfg = copy.deepcopy(faster_cfg)
    cfg.model.backbone.init_cfg.checkpoint = no_backbone_checkpoint
    with pytest.raises(PretrainedBackboneError) as err:
        _hook(cfg).check(_build_detector(cfg))
    msg = str(err.value)
    assert no_backbone_checkpoint in msg and 'no backbone weights' in msg
    assert '"conv1.weight" (64, 3, 7, 7)' in msg  # expected keys/shapes


class _Loop(BaseLoop):

    def run(self):
        pass


def test_hook_runs_only_for_training(faster_cfg, faster_model):
    hook = _hook(faster_cfg)
    logger = SimpleNamespace(info=print, warning=print)
    testing = SimpleNamespace(
        _train_loop=dict(type='EpochBasedTrainLoop'),
        model=faster_model,
        logger=logger)
    hook.before_run(testing)  # tools/test.py: fine-tuned weights, no check
    training = SimpleNamespace(
        _train_loop=_Loop(SimpleNamespace(), [0]),
        model=faster_model,
        logger=logger)
    with pytest.raises(PretrainedBackboneError):
        hook.before_run(training)


def test_train_tool_refuses_without_checkpoint(tmp_path):
    """End to end: tools/train.py stops before reading any data."""
    proc = subprocess.run([
        sys.executable,
        osp.join(TOOLS, 'train.py'), FASTER_1X, '--work-dir',
        str(tmp_path / 'work')
    ],
                          env=tool_env(),
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode != 0
    assert 'PretrainedBackboneError: No pretrained backbone checkpoint ' \
        'was given' in proc.stderr, proc.stderr[-3000:]
    assert 'annotations' not in proc.stderr  # refused before the dataset


def test_checkpoint_is_checked_once_per_run(faster_cfg, r50_checkpoint):
    """tools/train.py checks right after building the runner; before_run
    then finds the backbone already passed and reads nothing again. A
    torchvision head (ignored keys) stays ignored until before_train."""
    import mmselfemd.engine.hooks.pretrained_backbone_check_hook as mod
    cfg = copy.deepcopy(faster_cfg)
    cfg.model.backbone.init_cfg.checkpoint = r50_checkpoint
    model = _build_detector(cfg)
    hook = _hook(cfg)
    runner = SimpleNamespace(_train_loop=_Loop(SimpleNamespace(), [0]),
                             model=model,
                             logger=SimpleNamespace(info=print,
                                                    warning=print))
    with mock.patch.object(mod, 'check_backbone_checkpoint',
                           wraps=mod.check_backbone_checkpoint) as spy:
        hook.check(model)  # tools/train.py
        hook.before_run(runner)
        assert spy.call_count == 1
        # another model (a new run) is checked again
        hook.check(_build_detector(cfg))
        assert spy.call_count == 2
