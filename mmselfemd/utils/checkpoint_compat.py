# Copyright (c) mmselfemd contributors. All rights reserved.
"""Weights-only loading of checkpoints written without the portable hook.

Checkpoints of earlier mmselfemd versions and those that plain mmengine
writes (an mmdet or mmpretrain run) hold what torch's weights-only loader
refuses by default: :class:`~mmengine.logging.HistoryBuffer` objects,
numpy arrays and scalars, and ``builtins.getattr`` (a buffer pickles its
statistics methods as ``getattr(HistoryBuffer, 'mean')``).
:data:`LEGACY_CHECKPOINT_GLOBALS` allow-lists them and nothing that runs
code: numeric numpy dtypes only, and, under the name ``builtins.getattr``,
:func:`history_buffer_method` instead of the real ``getattr``.

Nothing is allow-listed at import. :func:`allow_legacy_checkpoints` does
it for the process (``register_all_modules`` calls it, so the tools resume
such files through mmengine's loader); :func:`legacy_checkpoint_globals`
does it for one ``with`` block. See ``docs/en/get_started.md``
(Checkpoints and torch >= 2.6).
"""
import pickle
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer


def rebuild_history_buffer(log_history: list, count_history: list,
                           max_length: int) -> HistoryBuffer:
    """Rebuild a :class:`HistoryBuffer` pickled by an earlier mmselfemd.

    Earlier versions pickled buffers as a call of this function, under
    this module's name. It stays (and stays allow-listed) so that their
    checkpoints still resume; new checkpoints never reference it.

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


def allow_legacy_checkpoints() -> None:
    """Allow-list :data:`LEGACY_CHECKPOINT_GLOBALS` for the whole process.

    Idempotent. Called by
    :func:`~mmselfemd.utils.register_all_modules`, never at import.
    """
    torch.serialization.add_safe_globals(LEGACY_CHECKPOINT_GLOBALS)


@contextmanager
def legacy_checkpoint_globals() -> Iterator[None]:
    """Allow-list :data:`LEGACY_CHECKPOINT_GLOBALS` inside a ``with`` block.

    On exit it removes only the globals it added: torch's own
    ``safe_globals`` context would also remove those that
    :func:`allow_legacy_checkpoints` had added before.

    Yields:
        None
    """
    present = torch.serialization.get_safe_globals()
    missing = [g for g in LEGACY_CHECKPOINT_GLOBALS if g not in present]
    with torch.serialization.safe_globals(missing):
        yield
