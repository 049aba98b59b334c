# Copyright (c) mmselfemd contributors. All rights reserved.
"""Timing of GPU and CPU work: CUDA events on a GPU, the clock on a CPU."""
import time
from typing import Callable, List, Tuple, Union

import torch

Device = Union[str, torch.device]


def _is_cuda(device: Device) -> bool:
    return torch.device(device).type == 'cuda'


def cuda_event_seconds(fn: Callable[[], object]) -> float:
    """Seconds of one call of ``fn`` between two CUDA events.

    The events are recorded on the current stream around the call; host
    work inside ``fn`` (and copies to the host) falls between them and is
    counted, as the GPU sits idle at the end event until it is recorded.

    Args:
        fn (Callable): The work.

    Returns:
        float: Elapsed seconds.
    """
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / 1e3


def time_calls(fn: Callable[[], object],
               repeats: int,
               device: Device,
               warmup: int = 1) -> List[float]:
    """Seconds of each of ``repeats`` calls of ``fn`` after a warm-up.

    On CUDA each call is timed with CUDA events (:func:`cuda_event_seconds`:
    host work inside ``fn``, such as copies to the host, is counted); on a
    CPU with the wall clock. Callers reduce the list: the minimum, as
    ``timeit`` recommends for short kernels on a shared machine (the other
    statistics measure the neighbours' load more than the code), or the
    median.

    Args:
        fn (Callable): The work.
        repeats (int): Timed calls.
        device (str | torch.device): Where ``fn`` runs.
        warmup (int): Untimed calls first. Defaults to 1.

    Returns:
        list[float]: Seconds of each timed call, in order.
    """
    cuda = _is_cuda(device)
    for _ in range(warmup):
        fn()
    if cuda:
        torch.cuda.synchronize()
        return [cuda_event_seconds(fn) for _ in range(repeats)]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def time_step(step: Callable[[], object],
              device: Device) -> Tuple[float, float]:
    """Wall time and CPU time of one call of ``step``.

    The CPU time is that of this process, all its threads. On a shared CPU
    it is the robust measure with one thread: it does not count the time
    the process waits for a core. On CUDA the device is synchronised
    before and after, so the wall time covers the queued kernels.

    Args:
        step (Callable): The work.
        device (str | torch.device): Its device.

    Returns:
        tuple[float, float]: Seconds of wall time and of CPU time.
    """
    cuda = _is_cuda(device)
    if cuda:
        torch.cuda.synchronize(device)
    wall, cpu = time.perf_counter(), time.process_time()
    step()
    if cuda:
        torch.cuda.synchronize(device)
    return time.perf_counter() - wall, time.process_time() - cpu
