# Copyright (c) mmselfemd contributors. All rights reserved.
"""Baseline transfer configs: supervised and BYOL ImageNet, multi-scale.

Nothing is downloaded: the remote checkpoints are checked by address and
hash prefix, and their layouts with local files of the same layout.
"""
import copy
import logging
import os
import os.path as osp
from unittest import mock

import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.logging import MMLogger

from mmselfemd.apis import hash_prefix_from_filename
from mmselfemd.engine.hooks import NO_CHECKPOINT, PretrainedBackboneError

from .conftest import REPO
from .test_transfer_configs import _build_detector, _hook

COCO = osp.join(REPO, 'configs', 'benchmarks', 'mmdetection', 'coco')
SUP = osp.join(COCO, 'faster-rcnn_r50-sup-in1k-pre_fpn-syncbn_8xb2-1x_coco.py')
BYOL = osp.join(COCO,
                'faster-rcnn_r50-byol-in1k-pre_fpn-syncbn_8xb2-1x_coco.py')
MS = osp.join(COCO, 'mask-rcnn_r50-pre_fpn-syncbn_8xb2-ms-1x_coco.py')
REFERENCE = osp.join(COCO, 'faster-rcnn_r50-pre_fpn-syncbn_8xb2-1x_coco.py')
MMPRETRAIN_BYOL = 'byol_resnet50_16xb256-coslr-200e_in1k'


def _load(path: str, pretrained: str = None) -> Config:
    with mock.patch.dict(os.environ):
        os.environ.pop('MMSELFEMD_PRETRAINED', None)
        if pretrained:
            os.environ['MMSELFEMD_PRETRAINED'] = pretrained
        return Config.fromfile(path)


def _mmpretrain_file(relpath: str) -> str:
    import mmpretrain
    return osp.join(osp.dirname(mmpretrain.__file__), '.mim', relpath)


@pytest.mark.parametrize('path', [SUP, BYOL])
def test_same_protocol_as_the_selfemd_config(path):
    """Only the backbone's initialisation differs from the config that
    evaluates Self-EMD checkpoints."""
    cfg, ref = _load(path).to_dict(), _load(REFERENCE).to_dict()
    init, ref_init = (c['model']['backbone'].pop('init_cfg')
                      for c in (cfg, ref))
    assert init['checkpoint'] not in (NO_CHECKPOINT, '')
    assert ref_init['checkpoint'] == NO_CHECKPOINT
    assert cfg == ref
    # the check hook stays on: a remote checkpoint is verified and checked
    hook = _hook(_load(path))
    assert hook.allow_random_init is False


@pytest.mark.parametrize('path', [SUP, BYOL])
def test_fixed_checkpoint_ignores_the_env_var(path):
    cfg = _load(path, pretrained='/data/selfemd_r50.pth')
    assert cfg.model.backbone.init_cfg.checkpoint != '/data/selfemd_r50.pth'


def test_supervised_is_torchvision_resnet50_v1():
    """The file of ``torchvision://resnet50``, mmdet's default init, given
    by its URL (the check hook verifies URLs, not mmengine's schemes)."""
    from mmengine.runner.checkpoint import get_torchvision_models
    from torchvision.models import ResNet50_Weights
    init = _load(SUP).model.backbone.init_cfg
    url = get_torchvision_models()['resnet50']
    assert init == dict(type='Pretrained', checkpoint=url)
    # the weights mmdet's own ResNet-50 configs start from (76.1 top-1)
    assert url == ResNet50_Weights.IMAGENET1K_V1.url
    assert hash_prefix_from_filename(url) == '0676ba61'


def test_supervised_layout_matches_the_backbone():
    """torchvision's ResNet-50 keys (no prefix) are the detector backbone's
    keys with the same shapes, plus the unused ``fc`` classifier."""
    from torchvision.models import resnet50
    source = resnet50(weights=None).state_dict()  # no download
    backbone = _build_detector(_load(SUP)).backbone.state_dict()
    assert set(source) - set(backbone) == {'fc.weight', 'fc.bias'}
    assert set(backbone) <= set(source)
    for key, value in backbone.items():
        assert tuple(source[key].shape) == tuple(value.shape), key


def _torchvision_state_dict(arch: str = 'resnet50') -> dict:
    """A torchvision ResNet's plain state dict (no download), every float
    tensor random so that equal weights after loading mean loaded ones."""
    import torchvision.models
    gen = torch.Generator().manual_seed(0)
    state = getattr(torchvision.models, arch)(weights=None).state_dict()
    return {
        k: (torch.randn(v.shape, generator=gen) if v.is_floating_point()
            else v)
        for k, v in state.items()
    }


@pytest.fixture(scope='module')
def torchvision_r50(tmp_path_factory) -> str:
    """A local file in the layout of resnet50-0676ba61.pth: a plain state
    dict, no prefix, with the ImageNet classifier ``fc.weight`` (1000,
    2048) and ``fc.bias`` (1000, )."""
    path = str(tmp_path_factory.mktemp('tv') / 'resnet50-local.pth')
    torch.save(_torchvision_state_dict(), path)
    return path


class _Records(logging.Handler):

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def check_and_init(hook, model) -> str:
    """Run the check hook, then ``init_weights()``; return what the
    current MMLogger logged meanwhile (mmengine's load warnings too)."""
    records = _Records()
    logger = MMLogger.get_current_instance()
    logger.addHandler(records)
    try:
        hook.check(model, logger=logger)
        model.init_weights()
    finally:
        logger.removeHandler(records)
    return '\n'.join(records.messages)


def test_supervised_file_loads_without_its_classifier(torchvision_r50):
    """The hook accepts torchvision's layout (its only extra keys are the
    fc classifier, which the backbone lacks); init_weights() then loads
    every backbone tensor of the file and mmengine does not warn about the
    ignored fc keys."""
    cfg = copy.deepcopy(_load(SUP))
    cfg.model.backbone.init_cfg.checkpoint = torchvision_r50
    model = _build_detector(cfg)
    hook = _hook(cfg)
    log = check_and_init(hook, model)
    assert 'Its classifier head (fc.weight, fc.bias), which ResNet does ' \
        'not have, is not loaded.' in log
    assert f'load model from: {torchvision_r50}' in log  # mmengine loaded
    assert 'unexpected key' not in log and 'do not match' not in log
    source = torch.load(torchvision_r50, weights_only=True)
    loaded = model.backbone.state_dict()
    assert set(source) - set(loaded) == {'fc.weight', 'fc.bias'}
    for key, value in loaded.items():
        assert torch.equal(value, source[key]), key
    # only until training starts: the backbone is strict about fc again
    hook.before_train(None)
    with pytest.raises(RuntimeError, match='fc.weight'):
        model.backbone.load_state_dict(source)


def _edited(state: dict, drop=(), **extra) -> dict:
    state = {k: v for k, v in state.items() if k not in drop}
    state.update({k.replace('__', '.'): v for k, v in extra.items()})
    return state


@pytest.mark.parametrize(
    'edit, problem',
    [
        # an extra key that is no classifier head
        (dict(layer4__3__conv1__weight=torch.zeros(512, 2048, 1, 1)),
         '1 keys are not in the model (layer4.3.conv1.weight)'),
        (dict(fc2__weight=torch.zeros(1000, 2048)),
         '1 keys are not in the model (fc2.weight)'),
        # a missing backbone key, classifier present
        (dict(drop=('layer4.2.bn3.running_var', )),
         '1 expected keys are missing ("layer4.2.bn3.running_var" (2048,))'),
        # "fc" keys that are not a classifier on 2048 features
        (dict(drop=('fc.weight', 'fc.bias'),
              fc__weight=torch.zeros(1000, 512), fc__bias=torch.zeros(1000)),
         '2 keys are not in the model (fc.weight, fc.bias)'),
        (dict(drop=('fc.weight', )),
         '1 keys are not in the model (fc.bias)'),
        (dict(fc__bias=torch.zeros(10)),
         '2 keys are not in the model (fc.weight, fc.bias)'),
    ],
    ids=['extra-layer', 'extra-fc2', 'missing', 'fc-512', 'bias-only',
         'fc-bias-shape'])
def test_supervised_refuses_more_than_a_classifier(torchvision_r50, tmp_path,
                                                   edit, problem):
    source = torch.load(torchvision_r50, weights_only=True)
    path = str(tmp_path / 'edited.pth')
    torch.save(_edited(source, **edit), path)
    cfg = copy.deepcopy(_load(SUP))
    cfg.model.backbone.init_cfg.checkpoint = path
    with pytest.raises(PretrainedBackboneError) as err:
        _hook(cfg).check(_build_detector(cfg))
    msg = str(err.value)
    assert 'does not match the configured backbone ResNet' in msg
    assert problem in msg


def test_supervised_refuses_torchvision_resnet101(tmp_path):
    """A ResNet-101 classifier has the same fc as a ResNet-50 one, but its
    extra blocks are refused."""
    path = str(tmp_path / 'resnet101-local.pth')
    torch.save(_torchvision_state_dict('resnet101'), path)
    cfg = copy.deepcopy(_load(SUP))
    cfg.model.backbone.init_cfg.checkpoint = path
    with pytest.raises(PretrainedBackboneError) as err:
        _hook(cfg).check(_build_detector(cfg))
    msg = str(err.value)
    assert 'It holds a ResNet-101 ((3, 4, 23, 3) bottleneck blocks per ' \
        'stage), the config builds a ResNet-50' in msg
    assert 'fc.weight' not in msg  # the head is not the problem


def test_byol_is_mmpretrain_published_checkpoint():
    metafile = _mmpretrain_file('configs/byol/metafile.yml')
    with open(metafile) as f:
        models = {m['Name']: m for m in yaml.safe_load(f)['Models']}
    url = models[MMPRETRAIN_BYOL]['Weights']
    init = _load(BYOL).model.backbone.init_cfg
    assert init == dict(type='Pretrained', checkpoint=url, prefix='backbone.')
    assert hash_prefix_from_filename(url) == 'de817331'


def test_byol_layout_loads_into_the_backbone(r50_checkpoint):
    """A local file with the layout of mmpretrain's BYOL checkpoint
    (backbone.*, neck.*, head.*, target_net.*) passes the architecture
    check and its online backbone is what the detector starts from."""
    cfg = copy.deepcopy(_load(BYOL))
    cfg.model.backbone.init_cfg.checkpoint = r50_checkpoint
    model = _build_detector(cfg)
    _hook(cfg).check(model)
    model.init_weights()
    source = torch.load(r50_checkpoint, weights_only=True)['state_dict']
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, source['backbone.' + key]), key


def test_multiscale_matches_mmpretrain_benchmark():
    ours = _load(MS)
    theirs = Config.fromfile(
        _mmpretrain_file('configs/byol/benchmarks/mask-rcnn_r50_fpn_ms-1x_'
                         'coco.py'))
    assert ours.train_dataloader.dataset.pipeline == \
        theirs.train_dataloader.dataset.pipeline
    assert [t['type'] for t in ours.train_dataloader.dataset.pipeline] == [
        'LoadImageFromFile', 'LoadAnnotations', 'RandomChoiceResize',
        'RandomFlip', 'PackDetInputs'
    ]
    for key in ('neck', 'roi_head', 'rpn_head', 'train_cfg', 'test_cfg'):
        assert ours.model[key] == theirs.model[key], key
    ours_bb, theirs_bb = (dict(c.model.backbone) for c in (ours, theirs))
    ours_bb.pop('init_cfg'), theirs_bb.pop('init_cfg')
    assert ours_bb == theirs_bb
    for key in ('test_dataloader', 'val_dataloader', 'param_scheduler',
                'optim_wrapper', 'train_cfg'):
        assert ours[key] == theirs[key], key
    assert ours.train_dataloader.batch_size == 2  # x 8 GPUs = 16


def test_multiscale_refuses_without_checkpoint():
    cfg = _load(MS)
    assert cfg.model.backbone.init_cfg.checkpoint == NO_CHECKPOINT
    with pytest.raises(PretrainedBackboneError, match='No pretrained'):
        _hook(cfg).check(_build_detector(cfg))
