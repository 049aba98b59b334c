# Copyright (c) mmselfemd contributors. All rights reserved.
"""Configs and checkpoints for the backbone check hook's tests.

``r50_checkpoint``, ``r18_checkpoint`` and ``no_backbone_checkpoint`` are
fixtures of the root conftest.py.
"""
import pytest
import torch
from test_tools.conftest import load_tool

from .detection_helpers import (
    FASTER_1X,
    VOC_C4,
    build_detector,
    load_config,
    torchvision_state_dict,
)


@pytest.fixture(scope='module')
def faster_cfg():
    """The COCO Faster R-CNN FPN transfer config, no checkpoint given."""
    return load_config(FASTER_1X)


@pytest.fixture(scope='module')
def faster_model(faster_cfg):
    return build_detector(faster_cfg)


@pytest.fixture(scope='module')
def c4_cfg():
    """The VOC Faster R-CNN C4 transfer config, no checkpoint given."""
    return load_config(VOC_C4)


@pytest.fixture(scope='module')
def torchvision_r50(tmp_path_factory) -> str:
    """A local file in the layout of resnet50-0676ba61.pth: a plain state
    dict, no prefix, with the ImageNet classifier ``fc.weight`` (1000,
    2048) and ``fc.bias`` (1000, )."""
    path = str(tmp_path_factory.mktemp('tv') / 'resnet50-local.pth')
    torch.save(torchvision_state_dict(), path)
    return path


@pytest.fixture
def extracted_r50(r50_checkpoint, tmp_path) -> str:
    """The backbone of ``r50_checkpoint`` extracted with
    tools/model_converters/extract_backbone_weights.py (no prefix)."""
    dst = str(tmp_path / 'backbone.pth')
    load_tool('model_converters/extract_backbone_weights.py').main(
        [r50_checkpoint, dst])
    return dst
