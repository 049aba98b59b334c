# Copyright (c) mmselfemd contributors. All rights reserved.
"""Files of the project that the package does not hold: configs, tools."""
import os.path as osp


def project_path(*parts: str) -> str:
    """A path under the project's root folder, where ``configs/`` and
    ``tools/`` are.

    The root is the source tree that holds the imported ``mmselfemd``
    package (a checkout: ``setup.py``, ``configs/`` and ``tools/`` beside
    the package), else the package's ``.mim/`` folder (an installed wheel
    ships ``configs/`` and ``tools/`` there).

    Args:
        *parts (str): Components below the root, e.g. ``'configs',
            '_base_', 'models', 'selfemd_resnet50.py'``.

    Returns:
        str: The absolute path (it need not exist).
    """
    package = osp.dirname(osp.dirname(osp.abspath(__file__)))
    checkout = osp.dirname(package)
    if all(
            osp.exists(osp.join(checkout, name))
            for name in ('setup.py', 'configs', 'tools')):
        root = checkout
    else:
        root = osp.join(package, '.mim')
    return osp.join(root, *parts)
