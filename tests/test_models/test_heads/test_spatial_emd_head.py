# Copyright (c) mmselfemd contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.models import (
    CosineSimilarityLoss,
    LatentPredictHead,
    NonLinearNeck,
)

from mmselfemd.models import SpatialEMDHead
from mmselfemd.registry import MODELS

pytestmark = pytest.mark.usefixtures('registered', 'one_thread')

C_IN, C_HID = 8, 16


def _head(**kwargs) -> SpatialEMDHead:
    predictor = dict(
        type='SpatialBYOLNeck',
        in_channels=C_IN,
        hid_channels=C_HID,
        out_channels=C_IN,
        with_bias=True,
        with_last_bn=False,
        norm_cfg=dict(type='BN'))
    head = MODELS.build(dict(type='SpatialEMDHead', predictor=predictor,
                             **kwargs))
    head.init_weights()
    return head


def _same_position_cosine_loss(pred: torch.Tensor,
                               target: torch.Tensor) -> torch.Tensor:
    """Location-wise (DenseCL-style, no matching) 2 - 2 cos."""
    cos = F.cosine_similarity(pred, target, dim=1)
    return 2 - 2 * cos.mean()


@pytest.mark.parametrize('weights', ['uniform', 'cross_reference'])
def test_1x1_maps_equal_byol_loss(weights):
    """1x1 maps: P is the single entry 1, so the head computes BYOL's
    LatentPredictHead + CosineSimilarityLoss on the same vectors, value
    and gradient."""
    torch.manual_seed(0)
    head = _head(weights=weights)
    byol_head = LatentPredictHead(
        loss=dict(type='CosineSimilarityLoss', shift_factor=2.0,
                  scale_factor=2.0),
        predictor=dict(
            type='NonLinearNeck',
            in_channels=C_IN,
            hid_channels=C_HID,
            out_channels=C_IN,
            with_bias=True,
            with_last_bn=False,
            with_avg_pool=False,
            norm_cfg=dict(type='BN1d')))
    ref: NonLinearNeck = byol_head.predictor
    with torch.no_grad():
        ref.fc0.weight.copy_(head.predictor.mlp.conv0.weight[:, :, 0, 0])
        ref.fc0.bias.copy_(head.predictor.mlp.conv0.bias)
        ref.fc1.weight.copy_(head.predictor.mlp.conv1.weight[:, :, 0, 0])
        ref.bn0.load_state_dict(head.predictor.mlp.bn0.state_dict())

    online = torch.randn(6, C_IN, requires_grad=True)
    target = torch.randn(6, C_IN)
    loss = head.loss(online[:, :, None, None], target[:, :, None, None])
    online_ref = online.detach().clone().requires_grad_(True)
    expected = byol_head.loss(online_ref, target)
    torch.testing.assert_close(loss, expected)
    # mmpretrain's BYOL default loss (-cos) differs by the affine map only.
    pred = byol_head.predictor([online_ref])[0]
    byol_default = CosineSimilarityLoss()(pred, target)
    torch.testing.assert_close(loss, 2 + 2 * byol_default)
    loss.backward()
    expected.backward()
    torch.testing.assert_close(online.grad, online_ref.grad)
    assert online.grad.abs().sum() > 0


@pytest.mark.parametrize('weights', ['uniform', 'cross_reference'])
def test_spatial_permutation_invariance(weights):
    """Permuting the target's locations leaves the EMD loss unchanged,
    while a same-position cosine loss changes."""
    torch.manual_seed(1)
    head = _head(weights=weights)
    online = torch.randn(4, C_IN, 4, 4)
    target = torch.randn(4, C_IN, 4, 4)
    perm = torch.randperm(16)
    assert not torch.equal(perm, torch.arange(16))
    permuted = target.flatten(2)[:, :, perm].view_as(target)

    loss = head.loss(online, target)
    loss_perm = head.loss(online, permuted)
    torch.testing.assert_close(loss, loss_perm, rtol=1e-5, atol=1e-5)

    pred = head.predict(online)
    dense = _same_position_cosine_loss(pred, target)
    dense_perm = _same_position_cosine_loss(pred, permuted)
    assert (dense - dense_perm).abs() > 1e-2
    # The EMD loss does depend on the target's content.
    assert (head.loss(online, -target) - loss).abs() > 1e-2


def test_matching_beats_same_position():
    """A target that holds the prediction's own nodes in shuffled order
    is matched node to node: the EMD similarity is ~1 (loss ~0), far
    below the same-position loss."""
    torch.manual_seed(2)
    head = _head(weights='uniform', eps=0.01, num_iters=200)
    online = torch.randn(3, C_IN, 3, 3)
    with torch.no_grad():
        pred = head.predict(online)
    perm = torch.randperm(9)
    shuffled = pred.flatten(2)[:, :, perm].view_as(pred)
    assert head.loss(online, shuffled) < 0.05
    assert _same_position_cosine_loss(pred, shuffled) > 0.5


def test_different_sizes_range_and_detached_target():
    torch.manual_seed(3)
    head = _head(loss_weight=0.5)
    online = torch.randn(2, C_IN, 3, 3, requires_grad=True)
    target = torch.randn(2, C_IN, 7, 7, requires_grad=True)
    loss = head.loss(online, target)
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert 0 <= loss <= 0.5 * 4
    loss.backward()
    assert target.grad is None
    assert online.grad.abs().sum() > 0
    sim = head.similarity(head.predict(online), target)
    assert sim.shape == (2, )
    torch.testing.assert_close(loss, 0.5 * (2 - 2 * sim.mean()))


def test_loss_pairs_is_mean_of_pair_losses():
    """Batched pairs (grouped by map size) give the mean of the per-pair
    losses, each online map predicted once."""
    torch.manual_seed(4)
    head = _head(weights='cross_reference')
    online = [torch.randn(2, C_IN, 4, 4), torch.randn(2, C_IN, 4, 4),
              torch.randn(2, C_IN, 2, 2)]
    target = [torch.randn(2, C_IN, 4, 4), torch.randn(2, C_IN, 4, 4)]
    pairs = [(0, 1), (1, 0), (2, 0), (2, 1)]
    loss = head.loss_pairs(online, target, pairs)
    singles = torch.stack(
        [head.loss(online[i], target[j]) for i, j in pairs])
    torch.testing.assert_close(loss, singles.mean())
    assert singles.std() > 1e-4  # the pairs really differ
    with pytest.raises(ValueError):
        head.loss_pairs(online, target, [])


def test_invalid_options():
    with pytest.raises(ValueError):
        _head(weights='argmax')
    with pytest.raises(ValueError):
        _head(grad='implicit')


def test_loss_pairs_diagnostics_and_solver_options():
    """Diagnostics come with the loss on request, averaged over pairs;
    solver options are checked when the head is built."""
    from mmselfemd.models import SpatialEMDHead
    from mmselfemd.models.utils import transport_diagnostics
    torch.manual_seed(0)
    head = SpatialEMDHead(predictor=torch.nn.Identity(), weights='uniform')
    online = [torch.randn(2, 8, 3, 3), torch.randn(2, 8, 2, 2)]
    target = [torch.randn(2, 8, 3, 3)]
    pairs = [(0, 0), (1, 0)]
    loss, diag = head.loss_pairs(online, target, pairs,
                                 return_diagnostics=True)
    torch.testing.assert_close(loss, head.loss_pairs(online, target, pairs))
    expected = []
    for i, j in pairs:
        res = head.similarity(online[i], target[j], return_plan=True)
        expected.append(
            transport_diagnostics(res.plan, res.cos, res.a, res.b))
    for key in ('entropy_ratio', 'matching_gain', 'marginal_err'):
        ref = torch.cat([e[key] for e in expected]).mean()
        torch.testing.assert_close(diag[key], ref)
    exact = SpatialEMDHead(predictor=torch.nn.Identity(), solver='exact')
    assert exact.loss(online[0], target[0]).isfinite()
    rel = SpatialEMDHead(predictor=torch.nn.Identity(), eps_mode='relative')
    assert rel.loss(online[0], target[0]).isfinite()
    with pytest.raises(ValueError, match='unknown solver'):
        SpatialEMDHead(predictor=torch.nn.Identity(), solver='simplex')
    with pytest.raises(ValueError, match='eps_mode'):
        SpatialEMDHead(predictor=torch.nn.Identity(), eps_mode='spread')
