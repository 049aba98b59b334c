# Copyright (c) mmselfemd contributors. All rights reserved.
"""Checkpoints as plain data, which load weights-only without mmselfemd.

A checkpoint that mmengine's runner writes holds
:class:`~mmengine.logging.HistoryBuffer` objects and numpy scalars, which
torch's weights-only loader (the default from torch 2.6) refuses.
:func:`make_checkpoint_portable` rewrites a checkpoint just before it is
saved into Python containers and scalars and tensors; a ``HistoryBuffer``
becomes ``dict(type='HistoryBuffer', log_history=tensor,
count_history=tensor, max_length=int)``. :func:`restore_message_hub` turns
those back into buffers when the checkpoint is loaded to resume.
:class:`~mmselfemd.engine.hooks.PortableCheckpointHook` calls both. See
``docs/en/get_started.md`` (Checkpoints and torch >= 2.6).
"""
from collections import OrderedDict
from typing import Any, List, Tuple

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

#: ``type`` of a ``HistoryBuffer`` written as plain data.
HISTORY_BUFFER_TYPE = 'HistoryBuffer'
_PLAIN_SCALARS = (str, int, float, bool, bytes, bytearray, complex,
                  type(None))
_TORCH_TYPES = (torch.Tensor, torch.Size, torch.dtype, torch.device)


def history_buffer_to_plain(buffer: HistoryBuffer) -> dict:
    """A :class:`HistoryBuffer` as plain data (tensors and an int).

    Args:
        buffer (HistoryBuffer): The buffer.

    Returns:
        dict: ``type``, ``log_history`` and ``count_history`` (tensors with
        the arrays' dtypes) and ``max_length``.
    """
    log_history, count_history = buffer.data
    return dict(
        type=HISTORY_BUFFER_TYPE,
        log_history=torch.from_numpy(np.array(log_history)),
        count_history=torch.from_numpy(np.array(count_history)),
        max_length=int(buffer.max_length))


def history_buffer_from_plain(data: dict) -> HistoryBuffer:
    """Inverse of :func:`history_buffer_to_plain`.

    Args:
        data (dict): The plain form.

    Returns:
        HistoryBuffer: An equal buffer (same values and dtypes).
    """
    # Runner.resume maps the file to the run's device, so on a GPU the
    # tensors arrive on CUDA, which numpy cannot read: copy them to the host
    # (the constructor copies the arrays again, np.array).
    return HistoryBuffer(
        _host_array(data['log_history']), _host_array(data['count_history']),
        int(data['max_length']))


def _host_array(value: Any) -> np.ndarray:
    """``value`` as a numpy array, a tensor on any device included."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def is_plain_history_buffer(value: Any) -> bool:
    """Whether ``value`` is a buffer in the plain form."""
    return (isinstance(value, dict)
            and value.get('type') == HISTORY_BUFFER_TYPE
            and {'log_history', 'count_history', 'max_length'} <= set(value))


def _to_plain(obj: Any, path: str, leftovers: List[Tuple[str, str]]) -> Any:
    if isinstance(obj, HistoryBuffer):
        return history_buffer_to_plain(obj)
    if isinstance(obj, np.generic):  # before float: np.float64 is a float
        return obj.item()
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in 'biufc':
            return torch.from_numpy(np.array(obj))
        return _to_plain(obj.tolist(), path, leftovers)
    if isinstance(obj, _PLAIN_SCALARS) or isinstance(obj, _TORCH_TYPES):
        return obj
    if isinstance(obj, dict):  # subclasses (ConfigDict...) become dicts
        cls = OrderedDict if isinstance(obj, OrderedDict) else dict
        return cls((k, _to_plain(v, f'{path}.{k}', leftovers))
                   for k, v in obj.items())
    if type(obj) in (list, tuple, set):  # not namedtuples: a global each
        return type(obj)(
            _to_plain(v, f'{path}[{i}]', leftovers)
            for i, v in enumerate(obj))
    cls = type(obj)
    leftovers.append((path, f'{cls.__module__}.{cls.__qualname__}'))
    return obj


def make_checkpoint_portable(checkpoint: dict) -> List[Tuple[str, str]]:
    """Rewrite a checkpoint in place as plain data (see the module doc).

    It works in place because mmengine's ``before_save_checkpoint`` hooks
    hand over the dict that is then saved.

    Args:
        checkpoint (dict): The checkpoint about to be saved.

    Returns:
        list[tuple[str, str]]: ``(key path, type)`` of the objects that are
        still not plain data (kept as they are); empty when the checkpoint
        loads weights-only anywhere.
    """
    leftovers: List[Tuple[str, str]] = []
    for key in list(checkpoint):
        checkpoint[key] = _to_plain(checkpoint[key], key, leftovers)
    return leftovers


def restore_message_hub(checkpoint: dict) -> int:
    """Turn plain buffers of ``checkpoint['message_hub']`` back, in place.

    In place, as mmengine's ``after_load_checkpoint`` hooks expect.

    Args:
        checkpoint (dict): A loaded checkpoint.

    Returns:
        int: The number of buffers restored.
    """
    hub = checkpoint.get('message_hub') if isinstance(checkpoint,
                                                      dict) else None
    scalars = hub.get('log_scalars') if isinstance(hub, dict) else None
    if not isinstance(scalars, dict):
        return 0
    restored = 0
    for key, value in scalars.items():
        if is_plain_history_buffer(value):
            scalars[key] = history_buffer_from_plain(value)
            restored += 1
    return restored
