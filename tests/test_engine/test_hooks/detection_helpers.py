# Copyright (c) mmselfemd contributors. All rights reserved.
"""Build the detection-transfer configs' detectors and check hooks on CPU.

Shared by the hook tests (tests/test_engine/test_hooks/), the config tests
(tests/test_configs/test_detection_transfer_configs.py) and the training
tests (tests/test_tools/test_train_transfer.py).
"""
import copy
import logging
import os
import os.path as osp
from typing import Optional
from unittest import mock

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import MMLogger
from mmengine.registry import HOOKS, DefaultScope

from mmselfemd.engine.hooks import PretrainedBackboneCheckHook

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
DETECTION = osp.join(REPO, 'configs', 'benchmarks', 'mmdetection')
COCO = osp.join(DETECTION, 'coco')
VOC = osp.join(DETECTION, 'voc')
FASTER_1X = osp.join(COCO, 'faster-rcnn_r50-pre_fpn-syncbn_8xb2-1x_coco.py')
COCO_SUP = osp.join(COCO,
                    'faster-rcnn_r50-sup-in1k-pre_fpn-syncbn_8xb2-1x_coco.py')
COCO_BYOL = osp.join(
    COCO, 'faster-rcnn_r50-byol-in1k-pre_fpn-syncbn_8xb2-1x_coco.py')
VOC_C4 = osp.join(VOC, 'faster-rcnn_r50-pre_c4-syncbn_8xb2-ms-24k_voc0712.py')
VOC_SCRATCH, VOC_SUP, VOC_BYOL = (
    osp.join(VOC, f'faster-rcnn_r50-{init}_c4-syncbn_8xb2-ms-24k_voc0712.py')
    for init in ('scratch', 'sup-in1k-pre', 'byol-in1k-pre'))


def load_config(path: str, pretrained: Optional[str] = None) -> Config:
    """Load a config as if ``MMSELFEMD_PRETRAINED`` were ``pretrained`` (by
    default unset) and ``MMSELFEMD_VOC_ROOT`` unset."""
    with mock.patch.dict(os.environ):
        os.environ.pop('MMSELFEMD_PRETRAINED', None)
        os.environ.pop('MMSELFEMD_VOC_ROOT', None)
        if pretrained:
            os.environ['MMSELFEMD_PRETRAINED'] = pretrained
        return Config.fromfile(path)


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


def build_detector(cfg: Config):
    """Build ``cfg.model`` in mmdet's scope, with BN for SyncBN."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(
            ConfigDict(_swap_syncbn(copy.deepcopy(cfg.model.to_dict()))))


def build_check_hook(cfg: Config) -> PretrainedBackboneCheckHook:
    """Build the config's custom hook as the runner does (mmdet scope)."""
    (hook_cfg, ) = cfg.custom_hooks
    with DefaultScope.overwrite_default_scope('mmdet'):
        hook = HOOKS.build(copy.deepcopy(hook_cfg))
    assert isinstance(hook, PretrainedBackboneCheckHook)
    return hook


def with_checkpoint(cfg: Config, checkpoint: str,
                    prefix: Optional[str] = 'backbone.') -> Config:
    """A copy of ``cfg`` with the backbone's checkpoint (and prefix) set as
    ``--cfg-options`` sets it: on the backbone's init_cfg only."""
    cfg = copy.deepcopy(cfg)
    cfg.model.backbone.init_cfg.checkpoint = checkpoint
    cfg.model.backbone.init_cfg.prefix = prefix
    return cfg


def torchvision_state_dict(arch: str = 'resnet50') -> dict:
    """A torchvision ResNet's plain state dict (no download), every float
    tensor random so that equal weights after loading mean loaded ones."""
    import torchvision.models
    gen = torch.Generator().manual_seed(0)
    state = getattr(torchvision.models, arch)(weights=None).state_dict()
    return {
        k: (torch.randn(v.shape, generator=gen) if v.is_floating_point()
            else v)
        for k, v in state.items()
    }


class _Records(logging.Handler):

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def check_and_init(hook: PretrainedBackboneCheckHook, model) -> str:
    """Run the check hook, then ``init_weights()``; return what the
    current MMLogger logged meanwhile (mmengine's load warnings too)."""
    records = _Records()
    logger = MMLogger.get_current_instance()
    logger.addHandler(records)
    try:
        hook.check(model, logger=logger)
        model.init_weights()
    finally:
        logger.removeHandler(records)
    return '\n'.join(records.messages)


def assert_backbone_loaded(model, source: dict, prefix: str) -> None:
    """Every tensor of ``model.backbone`` is ``source[prefix + key]``."""
    loaded = model.backbone.state_dict()
    assert len(loaded) > 200
    for key, value in loaded.items():
        assert torch.equal(value, source[prefix + key]), key
