# Copyright (c) mmselfemd contributors. All rights reserved.
"""tools/model_converters: extracted backbone, torchvision, detectron2."""
import pickle
import re

import numpy as np
import pytest
import torch

from .conftest import load_tool


@pytest.fixture(scope='module')
def extract_tool():
    return load_tool('model_converters/extract_backbone_weights.py')


@pytest.fixture(scope='module')
def r50_source(r50_checkpoint):
    """The online backbone of the fabricated checkpoint, prefix stripped."""
    sd = torch.load(r50_checkpoint, weights_only=True)['state_dict']
    return {k[9:]: v for k, v in sd.items() if k.startswith('backbone.')}


@pytest.fixture(scope='module')
def extracted(tmp_path_factory, extract_tool, r50_checkpoint):
    dst = str(tmp_path_factory.mktemp('extracted') / 'backbone.pth')
    extract_tool.main([r50_checkpoint, dst])
    return dst


def _assert_same(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    for key in a:
        assert torch.equal(torch.as_tensor(a[key]), b[key]), key


def test_extract_layout(extracted, r50_source):
    out = torch.load(extracted, weights_only=True)
    assert set(out) == {'state_dict', 'meta'}
    sd = out['state_dict']
    assert not any(k.startswith(('backbone.', 'target', 'neck', 'head'))
                   for k in sd)
    # online weights, not the EMA target (filled with 7 in the fixture)
    _assert_same(sd, r50_source)
    assert out['meta']['converter'] == 'extract_backbone_weights'
    assert out['meta']['iter'] == 2


def test_extracted_loads_into_mmdet_and_mmpretrain_resnet(extracted):
    from mmdet.models.backbones import ResNet as MMDetResNet
    from mmpretrain.models.backbones import ResNet as MMPretrainResNet
    sd = torch.load(extracted, weights_only=True)['state_dict']
    for cls in (MMDetResNet, MMPretrainResNet):
        model = cls(depth=50)
        result = model.load_state_dict(sd, strict=True)
        assert not result.missing_keys and not result.unexpected_keys
        _assert_same(model.state_dict(), sd)


def test_extract_refuses_checkpoint_without_backbone(
        extract_tool, no_backbone_checkpoint, tmp_path):
    with pytest.raises(ValueError) as err:
        extract_tool.main([no_backbone_checkpoint, str(tmp_path / 'x.pth')])
    assert no_backbone_checkpoint in str(err.value)
    assert 'backbone.' in str(err.value) and "'head'" in str(err.value)


def test_selfemd2torchvision(tmp_path, r50_checkpoint, r50_source, extracted):
    import torchvision
    tool = load_tool('model_converters/selfemd2torchvision.py')
    for src in (r50_checkpoint, extracted):  # full or extracted input
        dst = str(tmp_path / 'tv.pth')
        tool.main([src, dst])
        sd = torch.load(dst, weights_only=True)
        assert not any(k.startswith('fc.') for k in sd)
        # documented use 1: feature extractor, strict
        model = torchvision.models.resnet50()
        model.fc = torch.nn.Identity()
        result = model.load_state_dict(sd, strict=True)
        assert not result.missing_keys and not result.unexpected_keys
        _assert_same(model.state_dict(), r50_source)
        # documented use 2: keep a fresh fc; only fc is missing
        result = torchvision.models.resnet50().load_state_dict(
            sd, strict=False)
        assert sorted(result.missing_keys) == ['fc.bias', 'fc.weight']
        assert not result.unexpected_keys


def test_torchvision_arch_detects_depth(r18_checkpoint):
    tool = load_tool('model_converters/selfemd2torchvision.py')
    sd = torch.load(r18_checkpoint, weights_only=True)['state_dict']
    backbone = {k[9:]: v for k, v in sd.items() if k.startswith('backbone.')}
    assert tool.torchvision_arch(backbone) == 'resnet18'
    backbone.pop('layer4.1.conv1.weight')
    backbone = {k: v for k, v in backbone.items()
                if not k.startswith('layer4.1.')}
    with pytest.raises(ValueError, match=r'\(2, 2, 2, 1\)'):
        tool.torchvision_arch(backbone)


def _detectron2_resnet50_shapes() -> dict:
    """Names and shapes of detectron2's ResNet-50 backbone (no FPN), from
    detectron2's naming (modeling/backbone/resnet.py): BasicStem
    ``stem.conv1`` (+``.norm``), BottleneckBlocks ``resK.i.conv1..3``
    (+``.norm``) and ``resK.0.shortcut`` (+``.norm``)."""
    shapes = {'stem.conv1.weight': (64, 3, 7, 7)}
    norm = ('weight', 'bias', 'running_mean', 'running_var')

    def add_norm(prefix, c):
        for n in norm:
            shapes[f'{prefix}.norm.{n}'] = (c, )

    add_norm('stem.conv1', 64)
    in_c = 64
    for stage, (blocks, mid) in enumerate(
            zip((3, 4, 6, 3), (64, 128, 256, 512)), start=2):
        out_c = mid * 4
        for i in range(blocks):
            p = f'res{stage}.{i}'
            c_in = in_c if i == 0 else out_c
            shapes[f'{p}.conv1.weight'] = (mid, c_in, 1, 1)
            shapes[f'{p}.conv2.weight'] = (mid, mid, 3, 3)
            shapes[f'{p}.conv3.weight'] = (out_c, mid, 1, 1)
            add_norm(f'{p}.conv1', mid)
            add_norm(f'{p}.conv2', mid)
            add_norm(f'{p}.conv3', out_c)
            if i == 0:
                shapes[f'{p}.shortcut.weight'] = (out_c, c_in, 1, 1)
                add_norm(f'{p}.shortcut', out_c)
        in_c = out_c
    return shapes


def test_selfemd2detectron2(tmp_path, r50_checkpoint, r50_source):
    tool = load_tool('model_converters/selfemd2detectron2.py')
    dst = str(tmp_path / 'd2.pkl')
    tool.main([r50_checkpoint, dst])
    with open(dst, 'rb') as f:
        obj = pickle.load(f, encoding='latin1')  # as detectron2 reads it
    assert set(obj) == {'model', '__author__', 'matching_heuristics'}
    assert obj['matching_heuristics'] is True
    model = obj['model']
    expected = _detectron2_resnet50_shapes()
    assert set(model) == set(expected)
    for name, shape in expected.items():
        assert isinstance(model[name], np.ndarray), name
        assert model[name].shape == shape, name
        assert model[name].dtype == np.float32, name
    # values: spot-check the renaming
    pairs = {
        'stem.conv1.weight': 'conv1.weight',
        'stem.conv1.norm.running_var': 'bn1.running_var',
        'res2.0.shortcut.weight': 'layer1.0.downsample.0.weight',
        'res3.1.conv2.norm.bias': 'layer2.1.bn2.bias',
        'res5.2.conv3.weight': 'layer4.2.conv3.weight',
    }
    for d2_name, name in pairs.items():
        np.testing.assert_array_equal(model[d2_name],
                                      r50_source[name].numpy())
    assert not any(re.search('num_batches_tracked|layer|bn\\d', k)
                   for k in model)


def test_selfemd2detectron2_needs_pkl(tmp_path, r50_checkpoint):
    tool = load_tool('model_converters/selfemd2detectron2.py')
    with pytest.raises(ValueError, match='.pkl'):
        tool.main([r50_checkpoint, str(tmp_path / 'd2.pth')])
