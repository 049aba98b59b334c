# Copyright (c) mmselfemd contributors. All rights reserved.
import pytest
import torch
from mmpretrain.models import NonLinearNeck

from mmselfemd.models import SpatialBYOLNeck
from mmselfemd.registry import MODELS

pytestmark = pytest.mark.usefixtures('registered', 'one_thread')


def _copy_into_nonlinear(neck: SpatialBYOLNeck, ref: NonLinearNeck) -> None:
    """Copy the 1x1-conv weights of ``neck`` into the linear layers of a
    ``NonLinearNeck`` with the same structure."""
    convs = [m for n, m in neck.mlp.named_children() if n.startswith('conv')]
    norms = [m for n, m in neck.mlp.named_children() if n.startswith('bn')]
    fcs = [ref.fc0] + [getattr(ref, n) for n in ref.fc_names]
    bns = [ref.bn0] + [getattr(ref, n) for n in ref.bn_names if n]
    assert len(convs) == len(fcs) and len(norms) == len(bns)
    with torch.no_grad():
        for conv, fc in zip(convs, fcs):
            fc.weight.copy_(conv.weight[:, :, 0, 0])
            if conv.bias is not None:
                fc.bias.copy_(conv.bias)
        for src, dst in zip(norms, bns):
            dst.load_state_dict(src.state_dict())


@pytest.mark.parametrize('num_layers', [2, 3])
def test_keeps_spatial_size(num_layers):
    neck = MODELS.build(
        dict(
            type='SpatialBYOLNeck',
            in_channels=8,
            hid_channels=16,
            out_channels=4,
            num_layers=num_layers,
            norm_cfg=dict(type='BN')))
    out = neck((torch.randn(3, 8, 5, 7), ))
    assert isinstance(out, tuple) and len(out) == 1
    assert out[0].shape == (3, 4, 5, 7)
    convs = [n for n, _ in neck.mlp.named_children() if n.startswith('conv')]
    assert len(convs) == num_layers


def test_default_norm_is_syncbn_and_names_match_lars_keys():
    neck = SpatialBYOLNeck(8, 16, 4)
    assert type(neck.mlp.bn0).__name__ == 'SyncBatchNorm'
    # Optimizer rules keyed on 'bn' / 'bias' (mmpretrain's BYOL recipe)
    # must catch every norm parameter.
    neck = SpatialBYOLNeck(8, 16, 4, norm_cfg=dict(type='BN'))
    for name, module in neck.named_modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            assert 'bn' in name


def test_flags():
    neck = SpatialBYOLNeck(
        8,
        16,
        4,
        with_bias=True,
        with_last_bn=False,
        with_last_bias=False,
        norm_cfg=dict(type='BN'))
    assert neck.mlp.conv0.bias is not None
    assert neck.mlp.conv1.bias is None
    assert not hasattr(neck.mlp, 'bn1')
    neck = SpatialBYOLNeck(
        8, 16, 4, with_last_bn_affine=False, norm_cfg=dict(type='BN'))
    assert neck.mlp.bn1.weight is None
    with pytest.raises(ValueError):
        SpatialBYOLNeck(8, 16, 4, num_layers=1, norm_cfg=dict(type='BN'))
    with pytest.raises(ValueError):
        neck((torch.randn(2, 8, 2, 2), torch.randn(2, 8, 2, 2)))


@pytest.mark.parametrize('with_last_bn', [True, False])
def test_1x1_map_equals_nonlinear_neck(with_last_bn):
    """On 1x1 maps the neck is exactly mmpretrain's NonLinearNeck (BYOL's
    projector), batch-norm statistics included."""
    torch.manual_seed(0)
    kwargs = dict(
        in_channels=8,
        hid_channels=16,
        out_channels=4,
        num_layers=3,
        with_bias=True,
        with_last_bn=with_last_bn)
    neck = SpatialBYOLNeck(**kwargs, norm_cfg=dict(type='BN'))
    neck.init_weights()
    ref = NonLinearNeck(
        **kwargs, with_avg_pool=False, norm_cfg=dict(type='BN1d'))
    _copy_into_nonlinear(neck, ref)
    x = torch.randn(6, 8)
    out = neck((x[:, :, None, None], ))[0]
    expected = ref((x, ))[0]
    assert out.shape == (6, 4, 1, 1)
    torch.testing.assert_close(out[:, :, 0, 0], expected)
    # Not trivially equal: the projection is a real function of x.
    assert out.std() > 1e-3


def test_channels_last_same_values_and_grads():
    torch.manual_seed(1)
    neck = SpatialBYOLNeck(8, 16, 4, norm_cfg=dict(type='BN'))
    ref = SpatialBYOLNeck(
        8, 16, 4, channels_last=False, norm_cfg=dict(type='BN'))
    ref.load_state_dict(neck.state_dict())
    x = torch.randn(3, 8, 5, 4, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    out, expected = neck((x, ))[0], ref((x_ref, ))[0]
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert expected.is_contiguous()
    torch.testing.assert_close(out, expected)
    out.square().sum().backward()
    expected.square().sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad)
