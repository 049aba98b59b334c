# Copyright (c) mmselfemd contributors. All rights reserved.
import copy
import os.path as osp
from math import cos, pi

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmpretrain.structures import DataSample

from mmselfemd.models import SelfEMD
from mmselfemd.registry import MODELS

pytestmark = pytest.mark.usefixtures('registered', 'one_thread')

BN = dict(type='BN')
BN1D = dict(type='BN1d')
LARGE, SMALL = 64, 32  # ResNet-18 C5: 2x2 and 1x1 maps


def _cfg(with_global: bool = True, **kwargs) -> dict:
    cfg = dict(
        type='SelfEMD',
        backbone=dict(type='ResNet', depth=18, norm_cfg=BN),
        neck=dict(
            type='SpatialBYOLNeck',
            in_channels=512,
            hid_channels=32,
            out_channels=16,
            with_bias=True,
            with_last_bn=False,
            norm_cfg=BN),
        head=dict(
            type='SpatialEMDHead',
            predictor=dict(
                type='SpatialBYOLNeck',
                in_channels=16,
                hid_channels=32,
                out_channels=16,
                with_bias=True,
                with_last_bn=False,
                norm_cfg=BN),
            weights='cross_reference'),
        data_preprocessor=dict(
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            to_rgb=True))
    if with_global:
        cfg.update(
            global_neck=dict(
                type='NonLinearNeck',
                in_channels=512,
                hid_channels=32,
                out_channels=16,
                with_bias=True,
                with_last_bn=False,
                norm_cfg=BN1D),
            global_head=dict(
                type='LatentPredictHead',
                predictor=dict(
                    type='NonLinearNeck',
                    in_channels=16,
                    hid_channels=32,
                    out_channels=16,
                    with_bias=True,
                    with_last_bn=False,
                    with_avg_pool=False,
                    norm_cfg=BN1D),
                loss=dict(
                    type='CosineSimilarityLoss',
                    shift_factor=2.0,
                    scale_factor=2.0)))
    cfg.update(kwargs)
    return cfg


def _model(**kwargs) -> SelfEMD:
    torch.manual_seed(0)
    model = MODELS.build(_cfg(**kwargs))
    model.init_weights()
    return model


def _views(batch: int = 4, num_small: int = 2, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    sizes = [LARGE, LARGE] + [SMALL] * num_small
    return [torch.randn(batch, 3, s, s, generator=g) for s in sizes]


def _online_target_params(model: SelfEMD) -> dict:
    named = dict(model.backbone.named_parameters(prefix='0'))
    named.update(model.neck.named_parameters(prefix='1'))
    if model.with_global:
        named.update(model.global_neck.named_parameters(prefix='2'))
    return {k: v.detach().clone() for k, v in named.items()}


def _manual_losses(model: SelfEMD, views, pairs_emd, pairs_global=None):
    """Recompute the losses of the step that has just run, from the
    documented view pairing: target maps of the large views only."""
    with torch.no_grad():
        feats = [model.backbone(v) for v in views]
        online = [model.neck(f)[0] for f in feats]
        tmod = model.target_net.module
        tfeats = [tmod[0](v) for v in views[:2]]
        targets = [tmod[1](f)[0] for f in tfeats]
        emd = torch.stack([
            model.head.loss(online[i], targets[j]) for i, j in pairs_emd
        ])
        out = dict(loss_emd=2 * emd.mean())
        if pairs_global is not None:
            og = [model.global_neck(f)[0] for f in feats]
            tg = [tmod[2](f)[0] for f in tfeats]
            glob = torch.stack([
                model.global_head.loss(og[i], tg[j]) for i, j in pairs_global
            ])
            out['loss_global'] = 2 * glob.mean()
    return out


DIAG = {'emd_entropy_ratio', 'emd_matching_gain', 'emd_marginal_err'}


def test_diagnostics_are_logged_not_optimised():
    """The transport-plan diagnostics travel in the loss dict (so mmengine
    logs them through the MessageHub), detached, and parse_losses leaves
    them out of the optimised total."""
    model = _model()
    views = _views(4, 2)
    losses = model(views, mode='loss')
    assert DIAG <= set(losses)
    for key in DIAG:
        assert not losses[key].requires_grad
    assert 0.5 - 1e-4 <= losses['emd_entropy_ratio'].item() <= 1 + 1e-4
    total, log_vars = model.parse_losses(losses)
    torch.testing.assert_close(
        total, losses['loss_emd'] + losses['loss_global'])
    assert DIAG <= set(log_vars)
    # switched off in the head: no diagnostics, same loss
    quiet = _model()
    quiet.head.diagnostics = False
    assert not DIAG & set(quiet(views, mode='loss'))


def test_shapes_losses_and_view_pairing():
    model = _model()
    fake_data = dict(
        inputs=[(torch.rand(4, 3, s, s) * 255).to(torch.uint8)
                for s in (LARGE, LARGE, SMALL, SMALL)],
        data_samples=[DataSample() for _ in range(4)])
    data = model.data_preprocessor(fake_data, training=True)
    views = data['inputs']
    assert [tuple(v.shape) for v in views] == [(4, 3, LARGE, LARGE)] * 2 + [
        (4, 3, SMALL, SMALL)
    ] * 2
    fresh = copy.deepcopy(model)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_emd', 'loss_global'} | DIAG | DIAG
    for value in losses.values():
        assert value.dim() == 0 and torch.isfinite(value)
    for value in (losses['loss_emd'], losses['loss_global']):
        assert value.dim() == 0 and torch.isfinite(value)
        assert 0 <= value.item() <= 8
    # Online maps keep H x W: 2x2 for large views, 1x1 for small ones.
    assert model.neck(model.backbone(views[0]))[0].shape == (4, 16, 2, 2)
    assert model.neck(model.backbone(views[2]))[0].shape == (4, 16, 1, 1)
    # mode='tensor' returns the backbone features.
    feats = model(views[0], mode='tensor')
    assert isinstance(feats, tuple) and feats[0].shape == (4, 512, 2, 2)
    # The first update copies the online net, so the step can be redone by
    # hand: large views symmetric, each small view against both targets.
    pairs = [(0, 1), (1, 0), (2, 0), (2, 1), (3, 0), (3, 1)]
    expected = _manual_losses(model, views, pairs, pairs)
    torch.testing.assert_close(losses['loss_emd'], expected['loss_emd'])
    torch.testing.assert_close(losses['loss_global'],
                               expected['loss_global'])
    # Small views count: without them the loss differs.
    two_views = fresh(views[:2], mode='loss')
    assert (two_views['loss_emd'] - losses['loss_emd']).abs() > 1e-4
    with pytest.raises(ValueError):
        model(views[:1], mode='loss')


@pytest.mark.parametrize('mode', ['parent', 'other'])
def test_small_view_targets_from_parent(mode):
    model = _model(with_global=False, small_view_targets=mode)
    views = _views(batch=4, num_small=2)
    # Per-sample parents: small view 2 comes from large view 0 for samples
    # 0, 1 and from view 1 for samples 2, 3; small view 3 the other way.
    parents = [[-1, -1, 0, 1], [-1, -1, 0, 1], [-1, -1, 1, 0],
               [-1, -1, 1, 0]]
    samples = []
    for p in parents:
        sample = DataSample()
        sample.set_field(torch.tensor(p), 'parent')
        samples.append(sample)
    losses = model(views, samples, mode='loss')
    assert set(losses) == {'loss_emd'} | DIAG
    head = model.head
    with torch.no_grad():
        online = [model.neck(model.backbone(v))[0] for v in views]
        tmod = model.target_net.module
        targets = [tmod[1](tmod[0](v))[0] for v in views[:2]]
        sims = [head.similarity(head.predict(online[0]), targets[1]),
                head.similarity(head.predict(online[1]), targets[0])]
        for s in (2, 3):
            pred = head.predict(online[s])
            per_target = torch.stack(
                [head.similarity(pred, t) for t in targets])  # (2, B)
            chosen = torch.tensor([p[s] for p in parents])
            if mode == 'other':
                chosen = 1 - chosen
            sims.append(per_target[chosen, torch.arange(4)])
        expected = 2 * (2 - 2 * torch.stack(sims).mean())
    torch.testing.assert_close(losses['loss_emd'], expected)
    with pytest.raises(ValueError):
        model(views, [DataSample() for _ in range(4)], mode='loss')


def test_pair_helpers_return_values_and_leave_arguments_alone():
    """The pairs index the targets that _with_choices returns: the two
    large views, then one per small view with a per-sample choice."""
    targets = [torch.zeros(2, 1, 1, 1), torch.ones(2, 1, 1, 1)]
    given = list(targets)
    # small view 2: both targets; 3: per sample 0 then 1; 4: 1 and 1
    choices = [None, torch.tensor([0, 1]), torch.tensor([1, 1])]
    pairs = SelfEMD._pairs(choices)
    selected = SelfEMD._with_choices(targets, choices)
    assert pairs == [(0, 1), (1, 0), (2, 0), (2, 1), (3, 2), (4, 3)]
    assert len(selected) == 4 and selected[:2] == targets
    assert selected[2].flatten().tolist() == [0.0, 1.0]
    assert selected[3].flatten().tolist() == [1.0, 1.0]
    assert len(targets) == 2 and all(t is g for t, g in zip(targets, given))


def test_gradients_online_only():
    model = _model()
    views = _views()
    losses = model(views, mode='loss')
    sum(losses.values()).backward()
    online = dict(
        backbone=model.backbone,
        neck=model.neck,
        predictor=model.head.predictor,
        global_neck=model.global_neck,
        global_predictor=model.global_head.predictor)
    for name, module in online.items():
        grads = [p.grad for p in module.parameters()]
        assert all(g is not None for g in grads), name
        assert sum(g.abs().sum() for g in grads) > 0, name
        assert all(p.requires_grad for p in module.parameters()), name
    target_params = list(model.target_net.parameters())
    assert len(target_params) == len(_online_target_params(model))
    for p in target_params:
        assert not p.requires_grad and p.grad is None
    # The global projector lives in the target too.
    assert len(model.target_net.module) == 3


def test_branches_are_separate():
    """loss_emd alone trains backbone + spatial neck + predictor, not the
    global branch; loss_global alone does not reach the spatial branch."""
    model = _model()
    other = copy.deepcopy(model)
    views = _views(num_small=0)
    model(views, mode='loss')['loss_emd'].backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    assert model.head.predictor.mlp.conv0.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.global_neck.parameters())
    model = other
    model(views, mode='loss')['loss_global'].backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.neck.parameters())
    assert all(p.grad is None for p in model.head.parameters())


def test_global_branch_off():
    model = _model(with_global=False)
    assert not model.with_global
    assert not any('global' in name for name, _ in model.named_parameters())
    assert len(model.target_net.module) == 2
    losses = model(_views(), mode='loss')
    assert set(losses) == {'loss_emd'} | DIAG
    with pytest.raises(ValueError):
        _model(with_global=False, global_neck=_cfg()['global_neck'])
    with pytest.raises(ValueError):
        _model(small_view_targets='nearest')


def test_target_is_cosine_ema_mmengine_convention():
    """After k steps the target equals the cosine EMA computed here in the
    classic form tau = 1 - m (m = weight of the online net)."""
    base, end, max_iters, k = 0.3, 0.05, 8, 5
    hub = MessageHub.get_instance('test_selfemd_cosine_ema')
    hub.update_info('max_iters', max_iters)
    assert MessageHub.get_current_instance() is hub
    model = _model(with_global=True, base_momentum=base, end_momentum=end)
    optim = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.5)
    views = _views(batch=4, num_small=1)
    expected, wrong = None, None
    for step in range(k):
        online = _online_target_params(model)  # what loss() averages in
        losses = model(views, mode='loss')
        if step == 0:
            expected = {n: p.clone() for n, p in online.items()}
            wrong = {n: p.clone() for n, p in online.items()}
        else:
            m = end - (end - base) * (cos(pi * step / max_iters) + 1) / 2
            tau = 1 - m
            for n in expected:
                expected[n] = tau * expected[n] + (1 - tau) * online[n]
                wrong[n] = m * wrong[n] + (1 - m) * online[n]
        optim.zero_grad()
        sum(losses.values()).backward()
        optim.step()
    target = dict(model.target_net.module.named_parameters())
    assert set(target) == set(expected)
    for n, p in target.items():
        torch.testing.assert_close(p, expected[n], rtol=1e-5, atol=1e-6)
    # The test can tell the conventions apart, and the target lags.
    final_online = _online_target_params(model)
    gap_wrong = max((target[n] - wrong[n]).abs().max() for n in target)
    gap_online = max(
        (target[n] - final_online[n]).abs().max() for n in target)
    assert gap_wrong > 1e-3 and gap_online > 1e-3
    assert int(model.target_net.steps) == k


def _real_views(batch: int = 4):
    """Fixed crops of a real image (scikit-image's astronaut)."""
    from skimage import data
    img = torch.from_numpy(np.ascontiguousarray(data.astronaut()))
    img = img.permute(2, 0, 1).float().div(255)
    img = (img - 0.45) / 0.25
    views = [[], [], [], []]
    for b in range(batch):
        y, x = 40 * b, 30 * b
        big = img[:, y:y + 320, x:x + 320]
        views[0].append(torch.nn.functional.interpolate(
            big[None], size=LARGE, mode='bilinear')[0])
        views[1].append(torch.nn.functional.interpolate(
            big[None, :, 40:, 40:].flip(-1), size=LARGE, mode='bilinear')[0])
        views[2].append(torch.nn.functional.interpolate(
            big[None, :, :160, :160], size=SMALL, mode='bilinear')[0])
        views[3].append(torch.nn.functional.interpolate(
            big[None, :, 160:, 160:], size=SMALL, mode='bilinear')[0])
    return [torch.stack(v) for v in views]


def test_overfit_one_batch_lowers_loss_emd():
    hub = MessageHub.get_instance('test_selfemd_overfit')
    hub.update_info('max_iters', 30)
    model = _model(with_global=False)
    optim = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad],
        lr=0.05,
        momentum=0.9)
    views = _real_views()
    history = []
    for _ in range(30):
        losses = model(views, mode='loss')
        history.append(losses['loss_emd'].item())
        optim.zero_grad()
        sum(losses.values()).backward()
        optim.step()
    assert all(np.isfinite(history))
    first, last = np.mean(history[:3]), np.mean(history[-3:])
    assert last < 0.7 * first, history


def test_base_config_builds_default_model():
    """configs/_base_/models/selfemd_resnet50.py builds the SyncBN model a
    real run uses; reverted to BN it trains on one process."""
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    repo = osp.dirname(osp.dirname(osp.dirname(osp.dirname(__file__))))
    cfg = Config.fromfile(
        osp.join(repo, 'configs/_base_/models/selfemd_resnet50.py'))
    model = MODELS.build(cfg.model)
    assert isinstance(model, SelfEMD) and model.with_global
    assert type(model.backbone.bn1).__name__ == 'SyncBatchNorm'
    assert type(model.neck.mlp.bn0).__name__ == 'SyncBatchNorm'
    assert model.neck.mlp.conv0.in_channels == 2048
    assert model.head.weights == 'cross_reference'
    assert model.target_net.momentum == 0.01
    torch.testing.assert_close(
        model.data_preprocessor.mean.flatten(),
        torch.tensor([123.675, 116.28, 103.53]))
    model = revert_sync_batchnorm(model)
    losses = model(_views(batch=2, num_small=1), mode='loss')
    assert set(losses) == {'loss_emd', 'loss_global'} | DIAG
    assert all(torch.isfinite(v) for v in losses.values())


def test_pair_reduction_mean_vs_sum():
    """'mean' (default) averages all pairs x 2; 'sum' gives every pair
    weight 1, so the large pair keeps its two-view weight. With two views
    both are l(0->1) + l(1->0)."""
    views = _views(4, 2)
    mean_model, sum_model = _model(), _model(pair_reduction='sum')
    two_mean = copy.deepcopy(mean_model)(views[:2], mode='loss')
    two_sum = copy.deepcopy(sum_model)(views[:2], mode='loss')
    for key in ('loss_emd', 'loss_global'):
        torch.testing.assert_close(two_mean[key], two_sum[key])
    # 2 large + 2 small views, small views to both targets: 6 pairs
    mean = mean_model(views, mode='loss')
    summed = sum_model(views, mode='loss')
    for key in ('loss_emd', 'loss_global'):
        torch.testing.assert_close(summed[key], mean[key] * 6 / 2)
    with pytest.raises(ValueError, match='pair_reduction'):
        _model(pair_reduction='max')
