# Copyright (c) mmselfemd contributors. All rights reserved.
"""Run as if some packages were not installed."""
import sys
from typing import List, Sequence

from .check_settings import BLOCKED


def block_modules(names: Sequence[str] = BLOCKED) -> List[str]:
    """Make ``names`` unimportable, as if they were not installed.

    ``sys.modules[name] = None`` makes ``import name`` (and of its
    submodules) raise ``ModuleNotFoundError`` and ``importlib.util.
    find_spec(name)`` return None, which is what mmcv-lite without mmdet
    gives: libraries that try them (mmcv's transformer bricks, mmpretrain's
    mmdet-only layers, mmengine's ``mmcv_full_available``) take their
    fallbacks. Names already imported are left alone.

    Args:
        names (Sequence[str]): Module names. Defaults to mmdet, mmcv's
            compiled ops and pycocotools (``BLOCKED``).

    Returns:
        list[str]: The names that were blocked.
    """
    blocked = []
    for name in names:
        if name not in sys.modules:
            sys.modules[name] = None
            blocked.append(name)
    return blocked
