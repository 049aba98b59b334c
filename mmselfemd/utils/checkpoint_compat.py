# Copyright (c) mmselfemd contributors. All rights reserved.
"""Weights-only checkpoints for mmengine 0.10.7 on torch >= 2.6.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine
0.10.7 calls ``torch.load`` without the argument, so it cannot resume from
its own checkpoints: the message hub stores :class:`HistoryBuffer` objects
whose default pickling needs numpy's array reconstruction globals (and, for
the statistics methods, ``builtins.getattr``, which must never be
allow-listed because it opens arbitrary attribute access).

:func:`enable_safe_checkpoints` fixes this at the source, without ever
turning weights-only loading off:

1. :class:`HistoryBuffer` gets a pickle reduction that stores its history as
   plain Python lists and rebuilds it through :func:`rebuild_history_buffer`.
2. That function and numpy's *scalar/dtype* reconstruction (plain data, no
   code) are the only globals added to torch's weights-only allow-list
   (:data:`SAFE_CHECKPOINT_GLOBALS`).
3. mmengine's loader for local files is replaced by one that loads with
   ``weights_only=True`` explicitly and turns torch's refusal into an error
   that names the file and the offending global.

``import mmselfemd`` calls it, so every entry point is covered.
"""
import pickle
from typing import Any, Optional, Union

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader


def rebuild_history_buffer(log_history: list, count_history: list,
                           max_length: int) -> HistoryBuffer:
    """Rebuild a :class:`HistoryBuffer` from plain lists.

    Args:
        log_history (list): Logged values.
        count_history (list): Counts of the logged values.
        max_length (int): Maximum length of the buffer.

    Returns:
        HistoryBuffer: The buffer, equal to the pickled one.
    """
    return HistoryBuffer(log_history, count_history, max_length)


def _reduce_history_buffer(self: HistoryBuffer) -> tuple:
    return (rebuild_history_buffer,
            (self._log_history.tolist(), self._count_history.tolist(),
             self.max_length))


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


SAFE_CHECKPOINT_GLOBALS = [rebuild_history_buffer] + _numpy_safe_globals()


class UnsafeCheckpointError(RuntimeError):
    """Raised when a checkpoint needs globals outside the allow-list."""


def load_checkpoint_safe(filename: str,
                         map_location: Optional[Union[str,
                                                      torch.device]] = None
                         ) -> Any:
    """Load a checkpoint file with ``torch.load(weights_only=True)``.

    Args:
        filename (str): Path of the checkpoint.
        map_location (str | torch.device, optional): As in
            :func:`torch.load`.

    Returns:
        Any: The loaded object.

    Raises:
        UnsafeCheckpointError: If the file needs a global that is not
            allow-listed (e.g. ``os.system``); the message names it.
    """
    try:
        return torch.load(filename, map_location=map_location,
                          weights_only=True)
    except pickle.UnpicklingError as e:
        # torch's message: a paragraph on the weights_only default, then
        # the reason (e.g. "Trying to load unsupported GLOBAL posix.system
        # ...") and a documentation link; keep the reason.
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        reason = next((ln for ln in lines if 'GLOBAL' in ln or
                       'Unsupported' in ln), lines[-1] if lines else '')
        raise UnsafeCheckpointError(
            f'Refused to load checkpoint "{filename}": it is loaded '
            'weights-only (no code is executed) and it needs a Python '
            f'global outside the allow-list ({reason}). mmselfemd '
            'checkpoints contain only tensors, plain Python data, '
            'HistoryBuffers and numpy scalars. If you '
            'trust the file and its source, convert it with plain torch in '
            'a separate process; mmselfemd never disables weights-only '
            'loading.') from e


def _load_from_local(filename: str, map_location=None) -> Any:
    """mmengine ``CheckpointLoader`` scheme for local files."""
    import os.path as osp
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file "{filename}" not found')
    return load_checkpoint_safe(filename, map_location=map_location)


def enable_safe_checkpoints() -> None:
    """Make mmengine write and read checkpoints weights-only. Idempotent."""
    HistoryBuffer.__reduce__ = _reduce_history_buffer
    torch.serialization.add_safe_globals(SAFE_CHECKPOINT_GLOBALS)
    CheckpointLoader.register_scheme(
        prefixes='', loader=_load_from_local, force=True)
