# Copyright (c) mmselfemd contributors. All rights reserved.
"""Checkpoints that load anywhere, weights-only, without mmselfemd.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine
0.10.7 calls ``torch.load`` without the argument. A checkpoint written by
mmengine's runner as it is cannot be loaded that way: its message hub holds
:class:`~mmengine.logging.HistoryBuffer` objects (numpy arrays, and
``builtins.getattr`` for their statistics methods, which must never be
allow-listed) and numpy scalars (e.g. the ``eta``).

:func:`make_checkpoint_portable` rewrites a checkpoint, just before it is
saved, into plain data that torch's weights-only loader accepts with its
default allow-list: Python containers and scalars, tensors. A
``HistoryBuffer`` becomes ``dict(type='HistoryBuffer', log_history=tensor,
count_history=tensor, max_length=int)``; numpy scalars become Python
scalars and numpy arrays tensors. :func:`restore_message_hub` turns the
buffers back into ``HistoryBuffer`` objects when the checkpoint is loaded
to resume. :class:`~mmselfemd.engine.hooks.PortableCheckpointHook` calls
both; the configs of mmselfemd list it in ``default_hooks``. Such a
checkpoint loads with plain ``torch.load`` (weights-only, the default) and
with mmengine's loader in a Python where mmselfemd is not installed;
mmengine without the hook resumes it too, only without the logged history
(it skips non-``HistoryBuffer`` scalars with a warning).

What ``import mmselfemd`` still changes (:func:`allow_legacy_checkpoints`):
torch's weights-only allow-list gains what checkpoints written *without*
the hook need, and nothing that runs code:

- :func:`rebuild_history_buffer`, for checkpoints of earlier mmselfemd
  versions (which pickled the buffers through it);
- :class:`~mmengine.logging.HistoryBuffer` itself, numpy's arrays
  (``ndarray``, ``_reconstruct``) and its scalar/dtype reconstruction for
  numeric dtypes, for checkpoints that plain mmengine writes (an mmdet or
  mmpretrain run, or ours from before the hook): their message hub holds
  ``HistoryBuffer`` objects and their meta numpy scalars;
- under the name ``builtins.getattr``, not ``getattr`` but
  :func:`history_buffer_method`, which returns one of ``HistoryBuffer``'s
  statistics methods and refuses everything else: such a buffer pickles
  its ``_statistics_methods`` as ``getattr(HistoryBuffer, 'mean')``, and
  allow-listing the real ``getattr`` would let a file reach any attribute
  of any allow-listed object.

Nothing else: mmengine's checkpoint loaders and the pickling of its
classes are left as they are.

:func:`load_checkpoint_safe` loads one file weights-only explicitly (even
where ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` is set) and turns torch's refusal
into an error that names the file and the offending global; mmselfemd's
own tools load through it.
"""
import pickle
from collections import OrderedDict
from typing import Any, List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

#: ``type`` of a ``HistoryBuffer`` written as plain data.
HISTORY_BUFFER_TYPE = 'HistoryBuffer'
_PLAIN_SCALARS = (str, int, float, bool, bytes, bytearray, complex,
                  type(None))
_TORCH_TYPES = (torch.Tensor, torch.Size, torch.dtype, torch.device)


def rebuild_history_buffer(log_history: list, count_history: list,
                           max_length: int) -> HistoryBuffer:
    """Rebuild a :class:`HistoryBuffer` pickled by an earlier mmselfemd.

    Earlier versions pickled buffers as a call of this function. It stays
    (and stays allow-listed) so that their checkpoints still resume; new
    checkpoints never reference it.

    Args:
        log_history (list): Logged values.
        count_history (list): Counts of the logged values.
        max_length (int): Maximum length of the buffer.

    Returns:
        HistoryBuffer: The buffer, equal to the pickled one.
    """
    return HistoryBuffer(log_history, count_history, max_length)


def _numpy_safe_globals() -> list:
    """Numpy globals that rebuild scalars and dtypes: data, not code."""
    scalar = np._core.multiarray.scalar
    # numeric dtypes only: no object, void, string or datetime dtypes.
    dtypes = {
        type(np.dtype(t))
        for t in np.sctypeDict.values()
        if np.dtype(t).kind in 'biufc'
    }
    return [scalar, np.dtype] + sorted(dtypes, key=str)


def _numpy_array_globals() -> list:
    """Numpy globals that rebuild arrays (their dtype is checked against
    :func:`_numpy_safe_globals` as it is rebuilt), under numpy 2's names and
    numpy 1's (``numpy.core``), with which older checkpoints were written."""
    reconstruct = np._core.multiarray._reconstruct
    scalar = np._core.multiarray.scalar
    return [np.ndarray, reconstruct,
            (reconstruct, 'numpy.core.multiarray._reconstruct'),
            (scalar, 'numpy.core.multiarray.scalar')]


def history_buffer_method(owner: Any, name: str) -> Any:
    """``getattr(HistoryBuffer, name)`` for a statistics method, only.

    Allow-listed as ``builtins.getattr`` for weights-only loading (see the
    module doc): a ``HistoryBuffer`` pickled by plain mmengine refers to its
    statistics methods (``min``, ``max``, ``current``, ``mean``) this way.

    Args:
        owner (Any): Must be the ``HistoryBuffer`` class.
        name (str): A statistics method of it.

    Returns:
        Callable: The method (returned, not called).

    Raises:
        pickle.UnpicklingError: For any other object or attribute; the
            message names both.
    """
    if owner is HistoryBuffer and isinstance(name, str):
        method = getattr(HistoryBuffer, name, None)
        if method is not None and (
                name in ('min', 'max', 'current', 'mean')
                or HistoryBuffer._statistics_methods.get(name) is method):
            return method
    raise pickle.UnpicklingError(
        f'Refused getattr({getattr(owner, "__qualname__", type(owner))!r}, '
        f'{name!r}) in a weights-only load: mmselfemd allows getattr only '
        "for a HistoryBuffer's statistics methods, which mmengine "
        'checkpoints refer to this way')


#: Globals allow-listed for checkpoints written without
#: :class:`~mmselfemd.engine.hooks.PortableCheckpointHook` (earlier mmselfemd
#: versions and plain mmengine).
LEGACY_CHECKPOINT_GLOBALS = [
    rebuild_history_buffer, HistoryBuffer,
    (history_buffer_method, 'builtins.getattr')
] + _numpy_safe_globals() + _numpy_array_globals()


class UnsafeCheckpointError(RuntimeError):
    """Raised when a checkpoint needs globals outside the allow-list."""


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


def load_checkpoint_safe(filename: str,
                         map_location: Optional[Union[str,
                                                      torch.device]] = None,
                         mmap: bool = False) -> Any:
    """Load a checkpoint file with ``torch.load(weights_only=True)``.

    Args:
        filename (str): Path of the checkpoint.
        map_location (str | torch.device, optional): As in
            :func:`torch.load`.
        mmap (bool): Memory-map the tensors instead of reading them (zip
            checkpoints only; others are read). Defaults to False.

    Returns:
        Any: The loaded object.

    Raises:
        UnsafeCheckpointError: If the file needs a global that is not
            allow-listed (e.g. ``os.system``); the message names it.
    """
    kwargs = dict(map_location=map_location, weights_only=True)
    try:
        if mmap:
            try:
                return torch.load(filename, mmap=True, **kwargs)
            except RuntimeError as e:
                if 'mmap' not in str(e):
                    raise
        return torch.load(filename, **kwargs)
    except pickle.UnpicklingError as e:
        # torch's message: a paragraph on the weights_only default, then
        # the reason (e.g. "Trying to load unsupported GLOBAL posix.system
        # ...") and a documentation link; keep the reason.
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        reason = next((ln for ln in lines if 'GLOBAL' in ln or
                       'Unsupported' in ln or ln.startswith('Refused')),
                      lines[-1] if lines else '')
        if 'global' not in reason.lower():  # e.g. "Unsupported operand 60"
            raise UnsafeCheckpointError(
                f'Refused to load checkpoint "{filename}": it is not a '
                f'checkpoint that loads weights-only ({reason}); nothing in '
                'it was executed.') from e
        raise UnsafeCheckpointError(
            f'Refused to load checkpoint "{filename}": it is loaded '
            'weights-only (no code is executed) and it needs a Python '
            f'global outside the allow-list ({reason}). mmselfemd '
            'checkpoints contain only tensors and plain Python data. If you '
            'trust the file and its source, convert it with plain torch in '
            'a separate process; mmselfemd never disables weights-only '
            'loading.') from e


def allow_legacy_checkpoints() -> None:
    """Allow-list :data:`LEGACY_CHECKPOINT_GLOBALS` (see the module doc).
    Idempotent.

    Called by ``import mmselfemd``; the only process-wide change it makes.
    """
    torch.serialization.add_safe_globals(LEGACY_CHECKPOINT_GLOBALS)
