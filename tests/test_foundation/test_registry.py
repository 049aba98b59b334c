# Copyright (c) mmselfemd contributors. All rights reserved.
import mmpretrain.registry
import pytest
import torch.nn as nn
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import DefaultScope, Registry
from mmpretrain.models import ResNet
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

import mmselfemd.registry
from mmselfemd.registry import MODELS, OPTIMIZERS, TRANSFORMS
from mmselfemd.utils import register_all_modules


@pytest.fixture(autouse=True)
def _scope():
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmselfemd'):
        yield


def test_parents_are_mmpretrain():
    assert MODELS.parent is MMPRETRAIN_MODELS
    assert MODELS.scope == 'mmselfemd'


def test_all_lists_every_registry_with_its_parent():
    """__all__ names every registry node the module defines (the docstring
    counts on it), each a child of mmpretrain's node of the same name."""
    nodes = {
        name for name, value in vars(mmselfemd.registry).items()
        if isinstance(value, Registry) and not name.startswith('MM')
    }
    assert nodes == set(mmselfemd.registry.__all__)
    assert len(nodes) == len(mmselfemd.registry.__all__)
    for name in nodes:
        node = getattr(mmselfemd.registry, name)
        parent = getattr(mmpretrain.registry, name, MMENGINE_FUNCTIONS)
        assert node.parent is parent, name
        assert node.scope == 'mmselfemd', name
    assert not hasattr(mmpretrain.registry, 'FUNCTIONS')


def test_build_mmpretrain_types_without_prefix():
    backbone = MODELS.build(dict(type='ResNet', depth=18))
    assert isinstance(backbone, ResNet)
    ema = MODELS.build(
        dict(type='CosineEMA', momentum=0.01), default_args=dict(
            model=nn.Linear(2, 2)))
    assert type(ema).__name__ == 'CosineEMA'
    opt = OPTIMIZERS.build(
        dict(type='LARS', lr=0.1, params=nn.Linear(2, 2).parameters()))
    assert type(opt).__name__ == 'LARS'
    mv = TRANSFORMS.build(
        dict(type='MultiView', num_views=2,
             transforms=[[dict(type='ColorJitter', brightness=0.4)]]))
    assert type(mv).__name__ == 'MultiView'


def test_build_own_module_and_prefixes():

    @MODELS.register_module(force=True)
    class _DummySelfEMDModule(nn.Module):

        def __init__(self, width: int = 3):
            super().__init__()
            self.width = width

    obj = MODELS.build(dict(type='_DummySelfEMDModule', width=5))
    assert obj.width == 5
    # explicit mmpretrain prefix and _scope_ behave as in mmpretrain
    assert isinstance(
        MODELS.build(dict(type='mmpretrain.ResNet', depth=18)), ResNet)
    fpn = MODELS.build(
        dict(type='mmdet.FPN', in_channels=[8, 16], out_channels=4,
             num_outs=2))
    assert type(fpn).__module__.startswith('mmdet.')
    fpn = MODELS.build(
        dict(_scope_='mmdet', type='FPN', in_channels=[8, 16],
             out_channels=4, num_outs=2))
    assert type(fpn).__module__.startswith('mmdet.')
    # a type that exists only in mmselfemd is not visible from mmdet
    with pytest.raises(KeyError):
        MODELS.build(dict(_scope_='mmdet', type='_DummySelfEMDModule'))


def test_unknown_type_names_registry():
    with pytest.raises(KeyError, match='mmselfemd::model'):
        MODELS.build(dict(type='NoSuchBackbone'))


def test_register_all_modules_sets_default_scope():
    register_all_modules(init_default_scope=True)
    assert DefaultScope.get_current_instance().scope_name == 'mmselfemd'
