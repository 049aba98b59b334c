# Copyright (c) mmselfemd contributors. All rights reserved.
"""Environment report in OpenMMLab's format, for bug reports.

Usage::

    python -m mmselfemd.utils.collect_env

prints one ``name: value`` line per entry: mmengine's
:func:`mmengine.utils.dl_utils.collect_env` (platform, Python, CUDA, GPUs,
compilers, PyTorch, TorchVision, OpenCV, MMEngine), then the OpenMMLab
stack this project is built on (MMCV with how its ops were compiled,
MMPreTrain, MMDetection) and mmselfemd itself (version + git hash).

From Python, as in mmpretrain and mmdet:
``from mmselfemd.utils import collect_env; collect_env()``. This is a
package (the command line is its ``__main__.py``) so that
``mmselfemd.utils`` can import the function and ``-m`` still runs without
runpy's warning about a module imported before it is run.
"""
import os.path as osp
import subprocess
from collections import OrderedDict
from typing import Optional

from mmengine.utils.dl_utils import collect_env as collect_base_env


def _git_hash(package_dir: str) -> Optional[str]:
    """Short git hash of the source checkout of a package, if it is one.

    Only a package folder whose parent is a git checkout counts (an
    editable install; give the real path, symbolic links resolved); an
    installed copy in site-packages has none, even when the virtual
    environment itself lies inside some checkout.
    """
    folder = osp.dirname(package_dir)
    if not osp.exists(osp.join(folder, '.git')):
        return None
    try:
        out = subprocess.run(['git', 'rev-parse', '--short=7', 'HEAD'],
                             cwd=folder,
                             capture_output=True,
                             text=True,
                             timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and sha else None


def _mmcv_info() -> OrderedDict:
    """MMCV's version and how its compiled ops were built."""
    info = OrderedDict()
    try:
        import mmcv
    except ImportError as e:
        info['MMCV'] = f'not installed ({e})'
        return info
    info['MMCV'] = mmcv.__version__
    try:
        from mmcv.ops import get_compiler_version, get_compiling_cuda_version
    except ImportError as e:
        # mmcv-lite, or ops built against another torch (undefined symbols)
        info['MMCV ops'] = f'not available ({e})'
        return info
    cuda = get_compiling_cuda_version()
    info['MMCV ops'] = 'CPU' if cuda == 'not available' else 'CPU, CUDA'
    info['MMCV Compiler'] = get_compiler_version()
    info['MMCV CUDA Compiler'] = cuda
    return info


def collect_env(with_torch_compiling_info: bool = False) -> OrderedDict:
    """Collect the environment, as OpenMMLab codebases do.

    Args:
        with_torch_compiling_info (bool): Keep the long
            ``PyTorch compiling details`` entry of mmengine's report.
            Defaults to False (mmpretrain and mmdet drop it too).

    Returns:
        OrderedDict: Entry name to value (strings, except mmengine's
        ``CUDA available`` / ``MUSA available`` booleans).
    """
    import mmdet
    import mmpretrain

    import mmselfemd
    env_info = collect_base_env()
    if not with_torch_compiling_info:
        env_info.pop('PyTorch compiling details', None)
    env_info.update(_mmcv_info())
    env_info['MMPreTrain'] = mmpretrain.__version__
    env_info['MMDetection'] = mmdet.__version__
    sha = _git_hash(osp.dirname(osp.realpath(mmselfemd.__file__)))
    env_info['mmselfemd'] = mmselfemd.__version__ + (f'+{sha}' if sha else '')
    return env_info
