# Copyright (c) mmselfemd contributors. All rights reserved.
"""projects.benchmarks.time_calls: the clock on a CPU, CUDA events (and
synchronisation) on a GPU, after a warm-up."""
import importlib
import types

import pytest
import torch

from projects.benchmarks import time_calls, time_step

timing = importlib.import_module('projects.benchmarks.time_calls')


class FakeClock:
    """perf_counter / process_time that advance only when ``fn`` runs."""

    def __init__(self, durations):
        self.durations = list(durations)
        self.now = 0.0
        self.cpu = 0.0
        self.calls = 0

    def fn(self):
        self.calls += 1
        step = self.durations.pop(0)
        self.now += step
        self.cpu += step / 2

    def module(self):
        return types.SimpleNamespace(perf_counter=lambda: self.now,
                                     process_time=lambda: self.cpu)


def test_cpu_times_each_call_after_the_warmup(monkeypatch):
    # the warm-up call (100 s) is not timed
    clock = FakeClock([100.0, 3.0, 1.0, 2.0])
    monkeypatch.setattr(timing, 'time', clock.module())
    times = time_calls(clock.fn, 3, 'cpu')
    assert times == [3.0, 1.0, 2.0]
    assert min(times) == 1.0
    assert clock.calls == 4


def test_warmup_count(monkeypatch):
    clock = FakeClock([9.0, 9.0, 0.5])
    monkeypatch.setattr(timing, 'time', clock.module())
    assert time_calls(clock.fn, 1, torch.device('cpu'), warmup=2) == [0.5]
    assert clock.calls == 3
    clock = FakeClock([0.25])
    monkeypatch.setattr(timing, 'time', clock.module())
    assert time_calls(clock.fn, 1, 'cpu', warmup=0) == [0.25]


def test_cuda_uses_events_after_one_synchronisation(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, 'synchronize',
                        lambda *a: calls.append('sync'))
    event_times = iter([0.3, 0.1, 0.2])

    def fake_events(fn):
        fn()
        calls.append('event')
        return next(event_times)

    monkeypatch.setattr(timing, 'cuda_event_seconds', fake_events)
    ran = []
    times = time_calls(lambda: ran.append(1), 3, 'cuda:0')
    assert times == [0.3, 0.1, 0.2]
    assert len(ran) == 4  # one warm-up + three timed
    assert calls == ['sync', 'event', 'event', 'event']


def test_time_step_wall_and_cpu(monkeypatch):
    clock = FakeClock([4.0])
    monkeypatch.setattr(timing, 'time', clock.module())
    wall, cpu = time_step(clock.fn, 'cpu')
    assert (wall, cpu) == (4.0, 2.0)


def test_time_step_synchronises_around_the_call_on_cuda(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, 'synchronize',
                        lambda *a: calls.append('sync'))
    time_step(lambda: calls.append('step'), torch.device('cuda'))
    assert calls == ['sync', 'step', 'sync']


def test_real_clock_is_positive():
    times = time_calls(lambda: sum(range(1000)), 2, 'cpu')
    assert len(times) == 2 and all(t > 0 for t in times)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_events_measure_gpu_work():
    x = torch.randn(512, 512, device='cuda')
    times = time_calls(lambda: x @ x, 3, 'cuda')
    assert len(times) == 3 and all(t > 0 for t in times)
