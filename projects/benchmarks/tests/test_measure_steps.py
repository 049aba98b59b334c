# Copyright (c) mmselfemd contributors. All rights reserved.
"""projects.benchmarks.measure_steps and the models and optimizers it is
given (build_step_models, build_optim): alternating order, warm-up,
non-finite losses; finite times for both models on a tiny CPU config."""
import math

import pytest
import torch

from mmselfemd.engine.optimizers import CPUAmpOptimWrapper
from projects.benchmarks import (
    build_optim,
    build_step_models,
    make_batch,
    measure_steps,
    median_or_none,
    set_max_iters,
)


class FakeModel:

    def __init__(self, name, log, loss=1.0):
        self.name, self.log, self.loss = name, log, loss

    def train_step(self, batch, optim):
        self.log.append((self.name, batch, optim))
        return dict(loss=torch.tensor(self.loss))


def test_alternating_order_and_warmup():
    log = []
    models = {'a': FakeModel('a', log), 'b': FakeModel('b', log, math.nan)}
    res = measure_steps(models, {'a': 'oa', 'b': 'ob'},
                        {'a': 'ba', 'b': 'bb'}, torch.device('cpu'),
                        warmup=1, repeats=3)
    # warm-up a, b; then rounds a b | b a | a b
    assert [n for n, _, _ in log] == ['a', 'b', 'a', 'b', 'b', 'a', 'a',
                                      'b']
    # each model got its own batch and optimizer
    assert all(batch == 'b' + n and optim == 'o' + n
               for n, batch, optim in log)
    for name in 'ab':
        assert len(res[name]['wall_s']) == 3
        assert len(res[name]['cpu_s']) == 3
        assert res[name]['peak_mb'] is None  # no CUDA
    assert res['a']['nonfinite_losses'] == 0
    assert res['b']['nonfinite_losses'] == 3  # timed steps only


def test_median_or_none():
    assert median_or_none([]) is None
    assert median_or_none([3.0, 1.0, 2.0]) == 2.0


def test_build_optim_amp_is_the_cpu_amp_wrapper():
    model = torch.nn.Linear(2, 2)
    plain = build_optim(model)
    assert type(plain).__name__ == 'OptimWrapper'
    assert type(plain.optimizer).__name__ == 'LARS'
    amp = build_optim(model, dtype='bfloat16')
    assert isinstance(amp, CPUAmpOptimWrapper)
    assert amp.cast_dtype == torch.bfloat16
    if not torch.cuda.is_available():
        assert not amp.loss_scaler.is_enabled()


def test_selfemd_and_byol_steps_on_a_tiny_cpu_config():
    """The real configs at ResNet-18, 32 px, batch 2: both models step,
    with finite times and losses, in fp32 and bf16 AMP."""
    device = torch.device('cpu')
    set_max_iters(100)
    models = build_step_models(device, depth=18)
    assert set(models) == {'Self-EMD', 'BYOL'}
    assert type(models['BYOL']).__name__ == 'BYOL'
    batch = make_batch(2, [32, 32], seed=0)
    assert [tuple(v.shape) for v in batch['inputs']] == [(2, 3, 32, 32)] * 2
    assert batch['inputs'][0].dtype == torch.uint8
    for dtype in (None, 'bfloat16'):
        optims = {n: build_optim(m, dtype=dtype) for n, m in models.items()}
        res = measure_steps(models, optims, {n: batch for n in models},
                            device, warmup=1, repeats=2)
        for name, rec in res.items():
            assert len(rec['wall_s']) == 2, name
            assert all(0 < t < math.inf for t in rec['wall_s'])
            assert all(0 <= t < math.inf for t in rec['cpu_s'])
            assert rec['nonfinite_losses'] == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_peak_memory_on_cuda():
    model = torch.nn.Linear(256, 256).cuda()

    class Stepper:

        def train_step(self, batch, optim):
            return dict(loss=model(batch).sum())

    res = measure_steps({'m': Stepper()}, {'m': None},
                        {'m': torch.randn(64, 256, device='cuda')},
                        torch.device('cuda'), warmup=1, repeats=2)
    assert res['m']['peak_mb'] > 0 and res['m']['step_mb'] >= 0
