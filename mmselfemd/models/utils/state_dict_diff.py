# Copyright (c) mmselfemd contributors. All rights reserved.
"""Compare the keys and shapes of a checkpoint with a module's state dict."""
import re
from dataclasses import dataclass
from typing import Dict, Iterable, Optional, Sequence, Tuple

import torch

Shape = Optional[Tuple[int, ...]]


def shape_of(value: object) -> Shape:
    """The shape of a tensor as a tuple, None for anything else."""
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


def examples(items: Sequence[str], limit: int = 4) -> str:
    """The first ``limit`` items joined, e.g. ``'a, b, c, d and 3 more'``."""
    shown = ', '.join(items[:limit])
    more = len(items) - limit
    return shown + (f' and {more} more' if more > 0 else '')


def select_prefix(state_dict: Dict[str, torch.Tensor],
                  prefix: Optional[str]) -> Dict[str, torch.Tensor]:
    """Select the keys that mmengine's ``PretrainedInit`` would load.

    Mirrors ``mmengine.runner.checkpoint._load_checkpoint_with_prefix``
    (with a prefix: the keys under it, the prefix stripped) and
    ``load_checkpoint``'s ``^module\\.`` revision (without one).

    Args:
        state_dict (dict[str, Tensor]): A checkpoint's state dict.
        prefix (str, optional): As ``init_cfg.prefix``, e.g.
            ``'backbone.'`` (a missing trailing dot is added).

    Returns:
        dict[str, Tensor]: A new dict with the selected, renamed keys.
    """
    if prefix:
        if not prefix.endswith('.'):
            prefix += '.'
        return {
            k[len(prefix):]: v
            for k, v in state_dict.items() if k.startswith(prefix)
        }
    return {re.sub(r'^module\.', '', k): v for k, v in state_dict.items()}


@dataclass(frozen=True)
class StateDictDiff:
    """How a checkpoint's state dict differs from a module's.

    Attributes:
        missing (tuple[tuple[str, Shape]]): Keys of the module absent from
            the checkpoint, with the module's shape.
        unexpected (tuple[str]): Keys of the checkpoint absent from the
            module (and not ignored).
        mismatched (tuple[tuple[str, Shape, Shape]]): Keys of both, with the
            checkpoint's and the module's shapes, where these differ.
    """

    missing: Tuple[Tuple[str, Shape], ...]
    unexpected: Tuple[str, ...]
    mismatched: Tuple[Tuple[str, Shape, Shape], ...]

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.mismatched)

    def describe(self) -> str:
        """The differences as one line, each kind with a few examples."""
        problems = []
        if self.mismatched:
            problems.append(
                f'{len(self.mismatched)} keys have other shapes (' +
                examples([f'"{k}" {found} instead of {wanted}'
                          for k, found, wanted in self.mismatched]) + ')')
        if self.missing:
            problems.append(
                f'{len(self.missing)} expected keys are missing (' +
                examples([f'"{k}" {shape}' for k, shape in self.missing]) +
                ')')
        if self.unexpected:
            problems.append(f'{len(self.unexpected)} keys are not in the '
                            f'model ({examples(list(self.unexpected))})')
        return '; '.join(problems)


def diff_state_dicts(found: Dict[str, torch.Tensor],
                     expected: Dict[str, torch.Tensor],
                     ignore: Iterable[str] = ()) -> StateDictDiff:
    """Compare ``found`` (a checkpoint's) with ``expected`` (a module's).

    Args:
        found (dict[str, Tensor]): The checkpoint's state dict (after
            :func:`select_prefix`).
        expected (dict[str, Tensor]): The module's ``state_dict()``.
        ignore (Iterable[str]): Keys of ``found`` that may be absent from
            ``expected``. Defaults to none.

    Returns:
        StateDictDiff: The differences (false when there are none).
    """
    ignore = frozenset(ignore)
    return StateDictDiff(
        missing=tuple((k, shape_of(v)) for k, v in expected.items()
                      if k not in found),
        unexpected=tuple(k for k in found
                         if k not in expected and k not in ignore),
        mismatched=tuple((k, shape_of(found[k]), shape_of(v))
                         for k, v in expected.items()
                         if k in found and shape_of(found[k]) != shape_of(v)))
