# Copyright (c) mmselfemd contributors. All rights reserved.
"""Files of the repository that the benchmarks read: configs, tools."""
import importlib.util
import os.path as osp

#: The folder that holds ``projects/``: the repository root in a checkout.
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def project_path(*parts: str) -> str:
    """A path under the repository root, where ``configs/`` and ``tools/``
    are.

    The root is the folder above ``projects/`` when it holds ``configs/``
    and ``tools/`` (a checkout). Otherwise (``projects/`` carried without
    them, as in the GPU check's bundle) it is the ``.mim/`` folder of the
    installed ``mmselfemd`` package, where a wheel ships ``configs/`` and
    ``tools/``; ``mmselfemd`` is located, not imported.

    Args:
        *parts (str): Components below the root, e.g. ``'configs',
            '_base_', 'models', 'selfemd_resnet50.py'``.

    Returns:
        str: The absolute path (it need not exist).
    """
    root = ROOT
    if not all(osp.isdir(osp.join(ROOT, name))
               for name in ('configs', 'tools')):
        spec = importlib.util.find_spec('mmselfemd')
        if spec is not None and spec.submodule_search_locations:
            package = list(spec.submodule_search_locations)[0]
            root = osp.join(package, '.mim')
    return osp.join(root, *parts)
