# Copyright (c) mmselfemd contributors. All rights reserved.
"""The installed package exposes configs/ and tools/ as .mim/, like mmdet."""
import os.path as osp

import mmselfemd


def test_mim_folder_exposes_configs_and_tools():
    mim = osp.join(osp.dirname(mmselfemd.__file__), '.mim')
    assert osp.isfile(
        osp.join(mim, 'configs', 'selfemd',
                 'selfemd_resnet50_8xb32-coslr-800e_coco.py'))
    assert osp.isfile(osp.join(mim, 'tools', 'train.py'))
    assert osp.isfile(osp.join(mim, 'model-index.yml'))
