# Copyright (c) mmselfemd contributors. All rights reserved.
"""A ``load_state_dict`` post-hook that ignores named keys."""
from typing import Iterable

from torch import nn


class IgnoreKeys:
    """Drop exact key names from ``load_state_dict``'s incompatible keys.

    Register it with ``module.register_load_state_dict_post_hook``; torch
    and mmengine's ``load_state_dict`` then neither warn about nor (with
    ``strict=True``) refuse these keys. The hook edits the lists it is
    given in place, as torch's post-hook protocol requires.

    Args:
        unexpected (Iterable[str]): Keys of the file the module lacks.
        missing (Iterable[str]): Keys of the module the file lacks.
            Defaults to none.
    """

    def __init__(self,
                 unexpected: Iterable[str],
                 missing: Iterable[str] = ()) -> None:
        self.unexpected = frozenset(unexpected)
        self.missing = frozenset(missing)

    def __call__(self, module: nn.Module, incompatible_keys) -> None:
        for keys, ignored in ((incompatible_keys.unexpected_keys,
                               self.unexpected),
                              (incompatible_keys.missing_keys, self.missing)):
            keys[:] = [k for k in keys if k not in ignored]
