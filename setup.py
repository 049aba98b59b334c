# Copyright (c) mmselfemd contributors. All rights reserved.
"""Install mmselfemd; ships ``configs/`` and ``tools/`` as ``.mim/``."""
import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def readme() -> str:
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


def get_version() -> str:
    scope: dict = {}
    with open(osp.join(HERE, 'mmselfemd', 'version.py')) as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname: str) -> list:
    """Read a requirements file, following ``-r`` includes."""
    reqs = []
    with open(osp.join(HERE, fname)) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            if line.startswith('-r '):
                reqs += parse_requirements(
                    osp.join(osp.dirname(fname), line[3:].strip()))
            else:
                reqs.append(line)
    return reqs


def add_mim_extension() -> None:
    """Expose configs/ and tools/ inside the package as ``.mim/``.

    As in mmdet/mmpretrain: symlinks for editable (develop) installs,
    copies for wheels and sdists, so ``mim train mmselfemd CONFIG`` works.
    """
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'symlink'
    elif any(c in sys.argv for c in ('sdist', 'bdist_wheel', 'install')):
        mode = 'copy'
    else:
        return
    mim_path = osp.join(HERE, 'mmselfemd', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in ('configs', 'tools', 'model-index.yml'):
        src = osp.join(HERE, name)
        if not osp.exists(src):
            continue
        dst = osp.join(mim_path, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_path), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmselfemd',
        version=get_version(),
        description='Self-EMD: self-supervised object detection pretraining '
        'without ImageNet, as an OpenMMLab toolbox',
        long_description=readme(),
        long_description_content_type='text/markdown',
        keywords='self-supervised learning, object detection, optimal '
        'transport, earth mover distance',
        packages=find_packages(exclude=('configs', 'tools', 'tests', 'tests.*',
                                          'projects', 'projects.*')),
        include_package_data=True,
        package_data={'mmselfemd': ['.mim/**/*']},
        python_requires='>=3.9',
        license='Apache License 2.0',
        license_files=['LICENSE'],
        install_requires=parse_requirements('requirements/runtime.txt'),
        extras_require={
            'all': parse_requirements('requirements.txt') +
            parse_requirements('requirements/tests.txt') +
            parse_requirements('requirements/optional.txt'),
            'mim': parse_requirements('requirements/mminstall.txt'),
            'tests': parse_requirements('requirements/tests.txt'),
            'optional': parse_requirements('requirements/optional.txt'),
        },
        zip_safe=False)
