# Copyright (c) mmselfemd contributors. All rights reserved.
"""Mixed precision: ``--amp`` trains; Sinkhorn stays float32; no NaN/Inf
under bfloat16 autocast on CPU, even for degenerate batches.

On CPU ``--amp`` means bfloat16 autocast through
:class:`mmselfemd.engine.CPUAmpOptimWrapper` (mmengine's
``AmpOptimWrapper`` asserts a GPU); on CUDA it is mmengine's wrapper with
float16 and dynamic loss scaling (the same checks run there when a GPU is
present).
"""
import importlib
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub

from mmselfemd.registry import MODELS, OPTIM_WRAPPERS
from mmselfemd.utils import register_all_modules

from .conftest import REPO, TINY_CFG, read_losses, run_train, train_cmd

# the module (the package re-exports a function of the same name)
emd_module = importlib.import_module(
    'mmselfemd.models.utils.emd_similarity')
DEFAULT_CFG = osp.join(REPO, 'configs', 'selfemd',
                       'selfemd_resnet50_8xb32-coslr-800e_coco.py')
CUDA = torch.cuda.is_available()
DEVICE = 'cuda' if CUDA else 'cpu'
# one intra-op thread (the root conftest.py): the cores are shared
pytestmark = pytest.mark.usefixtures('one_thread')


def _amp_wrapper(model: torch.nn.Module):
    cfg = dict(
        type='AmpOptimWrapper' if CUDA else 'CPUAmpOptimWrapper',
        dtype='float16' if CUDA else 'bfloat16',
        optimizer=torch.optim.SGD(model.parameters(), lr=0.05,
                                  momentum=0.9))
    return OPTIM_WRAPPERS.build(cfg)


def _swap_syncbn(cfg):
    """SyncBN -> BN (1-d BN where the layer sees pooled vectors)."""
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            if key == 'norm_cfg' and value.get('type') == 'SyncBN':
                cfg[key] = dict(type='BN1d' if cfg.get(
                    'type') == 'NonLinearNeck' else 'BN')
            else:
                _swap_syncbn(value)
    return cfg


def _build(cfg_path: str) -> torch.nn.Module:
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(cfg_path)
    model = MODELS.build(_swap_syncbn(cfg.model.to_dict()))
    return model.to(DEVICE).train()


def _views(images: torch.Tensor, small: int) -> list:
    """Two large views (the images) and one small view (a resize)."""
    small_view = torch.nn.functional.interpolate(
        images.float(), size=small, mode='area').round().to(images.dtype)
    return [images, images.flip(-1), small_view]


def _step(model, wrapper, inputs: list) -> dict:
    """One training step (as ``BaseModel.train_step``), checking the
    gradients between backward and the optimizer step."""
    data = dict(inputs=[v.to(DEVICE) for v in inputs], data_samples=None)
    with wrapper.optim_context(model):
        data = model.data_preprocessor(data, True)
        losses = model._run_forward(data, mode='loss')
    loss, log_vars = model.parse_losses(losses)
    wrapper.backward(loss)
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads, 'no gradients'
    for g in grads:
        assert torch.isfinite(g).all(), 'non-finite gradient'
    wrapper.step()
    wrapper.zero_grad()
    for p in model.parameters():
        assert torch.isfinite(p).all(), 'non-finite weight'
    for name, value in log_vars.items():
        assert torch.isfinite(torch.as_tensor(value)).all(), (name, value)
    return log_vars


@pytest.fixture
def sinkhorn_dtypes(monkeypatch):
    """Record the dtypes Sinkhorn is called with and returns."""
    seen = []
    original = emd_module.sinkhorn

    def spy(cost, a, b, **kwargs):
        plan = original(cost, a, b, **kwargs)
        seen.append((cost.dtype, a.dtype, b.dtype, plan.dtype))
        return plan

    monkeypatch.setattr(emd_module, 'sinkhorn', spy)
    return seen


def test_cpu_amp_wrapper_contract():
    model = torch.nn.Linear(4, 2).to(DEVICE)
    wrapper = _amp_wrapper(model)
    with wrapper.optim_context(model):
        out = model.to(DEVICE)(torch.randn(3, 4, device=DEVICE))
    assert out.dtype == (torch.float16 if CUDA else torch.bfloat16)
    wrapper.update_params(out.float().square().mean())
    state = wrapper.state_dict()
    assert 'loss_scaler' in state and 'state' in state
    wrapper.load_state_dict(state)


@pytest.mark.skipif(CUDA, reason='checks the CPU path')
def test_cpu_amp_wrapper_refuses_float16():
    optimizer = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="only dtype='bfloat16'"):
        OPTIM_WRAPPERS.build(
            dict(type='CPUAmpOptimWrapper', dtype='float16',
                 optimizer=optimizer))


def test_default_model_trains_under_amp(sinkhorn_dtypes):
    """The default config's model (ResNet-50, SyncBN -> BN): one step under
    autocast, small images; the backbone runs in low precision, Sinkhorn
    in float32."""
    torch.manual_seed(0)
    model = _build(DEFAULT_CFG)
    wrapper = _amp_wrapper(model)
    low = []
    model.backbone.register_forward_hook(
        lambda m, i, o: low.append(o[-1].dtype))
    images = torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8)
    MessageHub.get_current_instance().update_info('max_iters', 10)
    _step(model, wrapper, _views(images, 32))
    assert low and all(d in (torch.bfloat16, torch.float16) for d in low)
    assert sinkhorn_dtypes
    for dtypes in sinkhorn_dtypes:
        assert all(d == torch.float32 for d in dtypes), dtypes


DEGENERATE = {
    # all-black images
    'black': lambda: [torch.zeros(4, 3, 64, 64, dtype=torch.uint8)] * 2,
    # identical views of real-looking noise
    'identical': lambda: [
        torch.randint(0, 256, (4, 3, 64, 64), dtype=torch.uint8)] * 2,
    # a single repeated pixel value (one colour) per image
    'one_pixel': lambda: [
        torch.tensor([200, 17, 90], dtype=torch.uint8).view(1, 3, 1, 1).
        expand(4, 3, 64, 64).contiguous()
    ] * 2,
    # saturated extremes: white and black images, paired differently in
    # the two views. Each view's batch varies across samples: a view whose
    # samples are all identical gives training-mode BatchNorm zero variance,
    # its output is then the rounding noise of torch's vectorised CPU kernel
    # (~1e-5 on AVX2), which the cosine normalisations and BatchNorm's
    # backward (x w/sqrt(eps) per layer) amplify past float32 when the two
    # views differ per sample. No training batch is like that; it is
    # out of scope here, as for any BatchNorm network.
    'extremes': lambda: [
        _white_black((True, False, True, False)),
        _white_black((True, True, False, False)),
    ],
}


def _white_black(white: tuple) -> torch.Tensor:
    """A batch of all-white (True) and all-black (False) 64 px images."""
    return torch.stack([
        torch.full((3, 64, 64), 255 if w else 0, dtype=torch.uint8)
        for w in white
    ])


@pytest.mark.parametrize('kind', sorted(DEGENERATE))
def test_degenerate_batches_stay_finite(kind, sinkhorn_dtypes):
    """3 steps on a degenerate batch under autocast: finite losses,
    gradients and weights; Sinkhorn in float32."""
    torch.manual_seed(0)
    model = _build(TINY_CFG)
    wrapper = _amp_wrapper(model)
    MessageHub.get_current_instance().update_info('max_iters', 10)
    large = DEGENERATE[kind]()
    small = torch.nn.functional.interpolate(
        large[0].float(), size=32, mode='area').round().to(torch.uint8)
    for _ in range(3):
        _step(model, wrapper, [large[0], large[1], small])
    assert sinkhorn_dtypes
    assert all(d == torch.float32 for ds in sinkhorn_dtypes for d in ds)


@pytest.mark.slow  # a tools/train.py run
def test_train_tool_amp(tmp_path, scenes_root):
    """tools/train.py --amp trains the tiny Self-EMD config (bfloat16 on
    CPU, float16 on CUDA) with finite losses."""
    work = str(tmp_path / 'amp')
    proc = run_train(
        train_cmd(TINY_CFG, work, scenes_root, '--amp',
                  cfg_options=['train_cfg.max_iters=3']))
    log = proc.stdout + proc.stderr
    wrapper = 'AmpOptimWrapper' if CUDA else 'CPUAmpOptimWrapper'
    assert f"type='{wrapper}'" in log
    losses = read_losses(work)
    assert sorted(losses) == [1, 2, 3]
    for values in losses.values():
        assert all(torch.isfinite(torch.tensor(float(v)))
                   for v in values.values())
