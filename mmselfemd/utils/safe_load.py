# Copyright (c) mmselfemd contributors. All rights reserved.
"""Load a checkpoint file weights-only, with an error that names it.

:func:`load_checkpoint_safe` loads with ``torch.load(weights_only=True)``
explicitly (even where ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` is set), with
the allow-list for checkpoints written without the portable hook
(:mod:`mmselfemd.utils.checkpoint_compat`) in force for that one load, and
turns torch's refusal into an :class:`UnsafeCheckpointError` that names the
file and the offending global. mmselfemd's own tools load through it.
"""
import pickle
from typing import Any, Optional, Union

import torch

from .checkpoint_compat import legacy_checkpoint_globals


class UnsafeCheckpointError(RuntimeError):
    """Raised when a checkpoint needs globals outside the allow-list."""


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
    try:
        with legacy_checkpoint_globals():
            return _torch_load(filename, map_location, mmap)
    except pickle.UnpicklingError as e:
        raise _unsafe_error(filename, e) from e


def _torch_load(filename: str, map_location: Any, mmap: bool) -> Any:
    kwargs = dict(map_location=map_location, weights_only=True)
    if mmap:
        try:
            return torch.load(filename, mmap=True, **kwargs)
        except RuntimeError as e:
            if 'mmap' not in str(e):
                raise
    return torch.load(filename, **kwargs)


def _unsafe_error(filename: str,
                  error: pickle.UnpicklingError) -> UnsafeCheckpointError:
    """torch's refusal as an error that names the file and the reason."""
    # torch's message: a paragraph on the weights_only default, then the
    # reason (e.g. "Trying to load unsupported GLOBAL posix.system ...") and
    # a documentation link; keep the reason.
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    reason = next((ln for ln in lines if 'GLOBAL' in ln or
                   'Unsupported' in ln or ln.startswith('Refused')),
                  lines[-1] if lines else '')
    if 'global' not in reason.lower():  # e.g. "Unsupported operand 60"
        return UnsafeCheckpointError(
            f'Refused to load checkpoint "{filename}": it is not a '
            f'checkpoint that loads weights-only ({reason}); nothing in '
            'it was executed.')
    return UnsafeCheckpointError(
        f'Refused to load checkpoint "{filename}": it is loaded '
        'weights-only (no code is executed) and it needs a Python '
        f'global outside the allow-list ({reason}). mmselfemd '
        'checkpoints contain only tensors and plain Python data. If you '
        'trust the file and its source, convert it with plain torch in '
        'a separate process; mmselfemd never disables weights-only '
        'loading.')
