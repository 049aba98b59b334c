# Copyright (c) mmselfemd contributors. All rights reserved.
"""collect_env, in OpenMMLab's format: ``python -m
mmselfemd.utils.collect_env`` and ``from mmselfemd.utils import
collect_env``."""
import os.path as osp
import subprocess
import sys

import mmcv
import mmdet
import mmengine
import mmpretrain
import torch

import mmselfemd

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_module_prints_the_stack():
    proc = subprocess.run(
        [sys.executable, '-m', 'mmselfemd.utils.collect_env'],
        capture_output=True, text=True, timeout=120, cwd='/')
    assert proc.returncode == 0, proc.stderr
    assert 'RuntimeWarning' not in proc.stderr  # runpy's double import
    info = dict(
        line.split(': ', 1) for line in proc.stdout.splitlines()
        if ': ' in line)
    assert info['PyTorch'] == torch.__version__
    assert info['MMEngine'] == mmengine.__version__
    assert info['MMCV'] == mmcv.__version__
    assert info['MMPreTrain'] == mmpretrain.__version__
    assert info['MMDetection'] == mmdet.__version__
    assert info['CUDA available'] == str(torch.cuda.is_available())
    for key in ('sys.platform', 'Python', 'TorchVision', 'OpenCV'):
        assert key in info
    # the ops are compiled (the project needs RoIAlign and nms)
    assert info['MMCV ops'] in ('CPU', 'CPU, CUDA')
    assert info['MMCV Compiler']
    cuda_ops = info['MMCV CUDA Compiler'] != 'not available'
    assert (info['MMCV ops'] == 'CPU, CUDA') == cuda_ops
    # run from another folder: the hash is the source checkout's
    sha = subprocess.run(['git', 'rev-parse', '--short=7', 'HEAD'],
                         cwd=REPO, capture_output=True, text=True)
    expected = mmselfemd.__version__
    if sha.returncode == 0 and osp.exists(osp.join(REPO, '.git')):
        expected += '+' + sha.stdout.strip()
    assert info['mmselfemd'] == expected
    assert 'PyTorch compiling details' not in proc.stdout


def test_function_keeps_torch_details_on_request():
    from mmselfemd.utils.collect_env import collect_env
    assert 'PyTorch compiling details' in collect_env(
        with_torch_compiling_info=True)


def test_utils_exports_the_function():
    """As in mmpretrain and mmdet, the import gives the function, also
    after its module was imported by name."""
    import mmselfemd.utils.collect_env  # noqa: F401
    from mmselfemd.utils import collect_env
    info = collect_env()
    assert isinstance(info, dict)
    assert info['MMPreTrain'] == mmpretrain.__version__
    assert info['mmselfemd'].startswith(mmselfemd.__version__)
    assert 'PyTorch compiling details' not in info
