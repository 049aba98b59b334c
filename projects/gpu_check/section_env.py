# Copyright (c) mmselfemd contributors. All rights reserved.
"""The GPU check's ``env`` section: machine, versions, packages."""
import os
import os.path as osp
import platform
import socket
import subprocess
import sys

from projects.benchmarks import project_path

from .check_context import CheckContext
from .check_settings import OPTIONAL_MODULES
from .deadline import Deadline


def section_env(ctx: CheckContext, deadline: Deadline) -> dict:
    """Machine, versions, packages; import of the pretraining path.

    GPU, driver (``nvidia-smi``), CUDA, cuDNN, torch, CPUs, every installed
    package; imports the pretraining path (mmselfemd's registries) and
    records whether mmdet or mmcv's compiled ops were imported.

    Args:
        ctx (CheckContext): The check's context.
        deadline (Deadline): Soft deadline (unused: the section is short).

    Returns:
        dict: The section's result.

    Raises:
        RuntimeError: Naming every missing required module, or torch.
    """
    import importlib.metadata as md
    import importlib.util
    out = dict(
        python=sys.version.split()[0],
        executable=sys.executable,
        platform=platform.platform(),
        cpu_count=os.cpu_count(),
        cpu_affinity=len(os.sched_getaffinity(0)) if hasattr(
            os, 'sched_getaffinity') else None,
        hostname=socket.gethostname(),
        repo=project_path())
    try:
        with open('/proc/meminfo') as f:
            out['mem_total_gb'] = round(
                int(f.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    try:
        smi = subprocess.run(
            ['nvidia-smi', '--query-gpu=name,driver_version,memory.total',
             '--format=csv,noheader'],
            capture_output=True, text=True, timeout=20)
        out['nvidia_smi'] = (smi.stdout or smi.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        out['nvidia_smi'] = f'not available: {exc}'
    packages = {}
    for dist in md.distributions():
        name = dist.metadata['Name']
        if name:
            packages[name.lower()] = dist.version
    out['packages'] = dict(sorted(packages.items()))
    problems, notes = [], []
    try:
        import torch
    except ImportError as exc:
        raise RuntimeError(
            f'torch is not importable ({exc}); the machine must provide '
            'torch and torchvision (the bundle does not carry them)')
    out.update(
        torch=torch.__version__,
        torch_cuda=torch.version.cuda,
        cuda_available=torch.cuda.is_available(),
        cudnn=torch.backends.cudnn.version()
        if torch.backends.cudnn.is_available() else None,
        torch_threads=torch.get_num_threads())
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        out.update(
            gpu=torch.cuda.get_device_name(0),
            gpu_count=torch.cuda.device_count(),
            gpu_capability='.'.join(
                map(str, torch.cuda.get_device_capability(0))),
            gpu_memory_gb=round(props.total_memory / 2**30, 1),
            gpu_multiprocessors=props.multi_processor_count)
    try:
        out['device'] = str(ctx.device)
    except RuntimeError as exc:
        problems.append(str(exc))
    # the pretraining path: mmselfemd's registries, models, datasets
    for name in ('torchvision', 'numpy', 'cv2', 'mmengine', 'mmcv',
                 'mmpretrain', 'mmselfemd', 'ot', 'geomloss', 'skimage'):
        try:
            module = __import__(name)
            out.setdefault('modules', {})[name] = dict(
                version=getattr(module, '__version__', None),
                path=osp.dirname(getattr(module, '__file__', '') or ''))
        except Exception as exc:  # noqa: BLE001 (reported)
            msg = f'{name} is not importable ({type(exc).__name__}: {exc})'
            if name in OPTIONAL_MODULES:
                notes.append(f'{msg}; {OPTIONAL_MODULES[name]}')
            else:
                problems.append(
                    f'{msg}; install the offline bundle (bash projects/'
                    'gpu_check/tools/run_gpu_check.sh) or requirements.txt')
    try:
        import distutils  # noqa: F401
    except ImportError:
        problems.append(
            "distutils is not importable (Python >= 3.12 has none): "
            "mmengine's runner imports it (tools/train.py, dist section); "
            'install setuptools, whose shim provides it')
    try:
        from mmselfemd.utils import register_all_modules
        register_all_modules()
    except Exception as exc:  # noqa: BLE001 (reported)
        problems.append('mmselfemd registries could not be set up '
                        f'({type(exc).__name__}: {exc})')
    spec = importlib.util.find_spec('mmcv')
    out['mmcv_has_compiled_ops'] = spec is not None and any(
        f.startswith('_ext') for f in os.listdir(osp.dirname(spec.origin)))
    out['blocked'] = ctx.blocked
    # (a blocked name sits in sys.modules as None)
    loaded = [m for m, mod in list(sys.modules.items()) if mod is not None]
    out['mmdet_imported'] = any(
        m == 'mmdet' or m.startswith('mmdet.') for m in loaded)
    out['mmcv_ops_imported'] = any(
        m == 'mmcv.ops' or m.startswith('mmcv.ops.') for m in loaded)
    out['problems'] = problems
    out['notes'] = notes
    if problems:
        raise RuntimeError('; '.join(problems))
    return out
