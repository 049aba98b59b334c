# Copyright (c) mmselfemd contributors. All rights reserved.
"""PretrainedBackboneCheckHook on the COCO FPN transfer configs: what it
refuses, what it lets init_weights() load, and the zoo:// scheme it
registers. The C4 split is in test_pretrained_backbone_check_hook_c4.py,
remote checkpoints in test_pretrained_backbone_check_hook_remote.py."""
import copy
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
from mmengine.runner import BaseLoop
from mmengine.runner.checkpoint import CheckpointLoader

from mmselfemd.engine.hooks import (
    PretrainedBackboneCheckHook,
    PretrainedBackboneError,
)
from mmselfemd.utils.checkpoint_schemes import load_from_zoo

from .detection_helpers import (
    COCO_BYOL,
    COCO_SUP,
    assert_backbone_loaded,
    build_check_hook,
    build_detector,
    check_and_init,
    load_config,
    torchvision_state_dict,
    with_checkpoint,
)


def _check(cfg):
    build_check_hook(cfg).check(build_detector(cfg))


def test_refuses_without_checkpoint(faster_cfg, faster_model):
    with pytest.raises(PretrainedBackboneError) as err:
        build_check_hook(faster_cfg).check(faster_model)
    msg = str(err.value)
    assert 'No pretrained backbone checkpoint was given' in msg
    assert 'model.backbone.init_cfg.checkpoint=PATH' in msg
    assert 'MMSELFEMD_PRETRAINED=PATH' in msg
    assert 'torchvision://resnet50' in msg


# http(s):// and zoo:// are downloaded and verified first:
# test_pretrained_backbone_check_hook_remote.py
@pytest.mark.parametrize('checkpoint', [
    'torchvision://resnet50', 'open-mmlab://resnet50_v1c', 's3://b/x.pth'
])
def test_refuses_remote_weights(faster_cfg, checkpoint):
    with pytest.raises(PretrainedBackboneError, match='remote or model-zoo'):
        _check(with_checkpoint(faster_cfg, checkpoint))


def test_refuses_missing_file(faster_cfg, tmp_path):
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(PretrainedBackboneError,
                       match='does not exist') as err:
        _check(with_checkpoint(faster_cfg, missing))
    assert missing in str(err.value)
    assert 'MMSELFEMD_PRETRAINED=PATH' in str(err.value)


def test_refuses_random_init_unless_allowed(faster_cfg):
    cfg = copy.deepcopy(faster_cfg)
    cfg.model.backbone.init_cfg = None
    model = build_detector(cfg)
    with pytest.raises(PretrainedBackboneError, match='scratch'):
        PretrainedBackboneCheckHook().check(model)
    PretrainedBackboneCheckHook(allow_random_init=True).check(model)


def test_pretrained_weights_after_init_weights(faster_cfg, r50_checkpoint):
    cfg = with_checkpoint(faster_cfg, r50_checkpoint)
    model = build_detector(cfg)
    build_check_hook(cfg).check(model)  # passes
    model.init_weights()
    source = torch.load(r50_checkpoint, weights_only=True)['state_dict']
    assert len(model.backbone.state_dict()) > 300
    assert_backbone_loaded(model, source, 'backbone.')


def test_extracted_backbone_needs_prefix_none(faster_cfg, extracted_r50):
    with pytest.raises(PretrainedBackboneError,
                       match='already extracted backbone'):
        _check(with_checkpoint(faster_cfg, extracted_r50))
    cfg = with_checkpoint(faster_cfg, extracted_r50, prefix=None)
    model = build_detector(cfg)
    build_check_hook(cfg).check(model)
    model.init_weights()
    source = torch.load(extracted_r50, weights_only=True)['state_dict']
    assert_backbone_loaded(model, source, '')


def test_full_checkpoint_without_prefix_is_told_to_set_it(
        faster_cfg, r50_checkpoint):
    with pytest.raises(PretrainedBackboneError,
                       match='set `model.backbone.init_cfg.prefix=backbone.`'):
        _check(with_checkpoint(faster_cfg, r50_checkpoint, prefix=None))


def test_wrong_architecture(faster_cfg, r18_checkpoint):
    with pytest.raises(PretrainedBackboneError) as err:
        _check(with_checkpoint(faster_cfg, r18_checkpoint))
    msg = str(err.value)
    assert r18_checkpoint in msg
    assert 'does not match the configured backbone ResNet' in msg
    assert 'It holds a ResNet-18 ((2, 2, 2, 2) basic blocks per stage), ' \
        'the config builds a ResNet-50 ((3, 4, 6, 3) bottleneck' in msg
    assert '"layer1.0.conv3.weight" (256, 64, 1, 1)' in msg  # missing
    assert '"layer1.0.conv1.weight" (64, 64, 3, 3) instead of ' \
        '(64, 64, 1, 1)' in msg  # other shape
    assert '\n' not in msg  # one paragraph


def test_checkpoint_without_backbone(faster_cfg, no_backbone_checkpoint):
    with pytest.raises(PretrainedBackboneError) as err:
        _check(with_checkpoint(faster_cfg, no_backbone_checkpoint))
    msg = str(err.value)
    assert no_backbone_checkpoint in msg and 'no backbone weights' in msg
    assert '"conv1.weight" (64, 3, 7, 7)' in msg  # expected keys/shapes


class _Loop(BaseLoop):

    def run(self):
        pass


def _runner(model, train_loop):
    return SimpleNamespace(_train_loop=train_loop, model=model,
                           logger=SimpleNamespace(info=print, warning=print))


def test_hook_runs_only_for_training(faster_cfg, faster_model):
    hook = build_check_hook(faster_cfg)
    # tools/test.py: a fine-tuned checkpoint, no check
    hook.before_run(_runner(faster_model,
                            dict(type='EpochBasedTrainLoop')))
    with pytest.raises(PretrainedBackboneError):
        hook.before_run(_runner(faster_model, _Loop(SimpleNamespace(),
                                                    [0])))


def test_checkpoint_is_checked_once_per_run(faster_cfg, r50_checkpoint):
    """tools/train.py checks right after building the runner; before_run
    then finds the backbone already passed and reads nothing again."""
    import mmselfemd.engine.hooks.pretrained_backbone_check_hook as mod
    cfg = with_checkpoint(faster_cfg, r50_checkpoint)
    model = build_detector(cfg)
    hook = build_check_hook(cfg)
    with mock.patch.object(mod, 'check_backbone_checkpoint',
                           wraps=mod.check_backbone_checkpoint) as spy:
        hook.check(model)  # tools/train.py
        hook.before_run(_runner(model, _Loop(SimpleNamespace(), [0])))
        assert spy.call_count == 1
        # another model (a new run) is checked again
        hook.check(build_detector(cfg))
        assert spy.call_count == 2


def test_hook_registers_the_zoo_scheme(monkeypatch):
    """mmdet's tools import only mmselfemd.engine.hooks (custom_imports),
    never register_all_modules(): building the hook registers zoo://."""
    schemes = {k: v for k, v in CheckpointLoader._schemes.items()
               if k != 'zoo://'}
    monkeypatch.setattr(CheckpointLoader, '_schemes', dict(schemes))
    assert 'zoo://' not in CheckpointLoader._schemes
    build_check_hook(load_config(COCO_SUP))
    assert CheckpointLoader._schemes['zoo://'] is load_from_zoo
    # nothing else changed: mmengine's http loader stays
    assert {k: v for k, v in CheckpointLoader._schemes.items()
            if k != 'zoo://'} == schemes


# --- torchvision's supervised ResNet-50 file: its fc classifier ---


def test_supervised_file_loads_without_its_classifier(torchvision_r50):
    """The hook accepts torchvision's layout (its only extra keys are the
    fc classifier, which the backbone lacks); init_weights() then loads
    every backbone tensor of the file and mmengine does not warn about the
    ignored fc keys."""
    cfg = with_checkpoint(load_config(COCO_SUP), torchvision_r50, None)
    model = build_detector(cfg)
    hook = build_check_hook(cfg)
    log = check_and_init(hook, model)
    assert 'Its classifier head (fc.weight, fc.bias), which ResNet does ' \
        'not have, is not loaded.' in log
    assert f'load model from: {torchvision_r50}' in log  # mmengine loaded
    assert 'unexpected key' not in log and 'do not match' not in log
    source = torch.load(torchvision_r50, weights_only=True)
    assert set(source) - set(model.backbone.state_dict()) == {
        'fc.weight', 'fc.bias'
    }
    assert_backbone_loaded(model, source, '')
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
    with pytest.raises(PretrainedBackboneError) as err:
        _check(with_checkpoint(load_config(COCO_SUP), path, None))
    msg = str(err.value)
    assert 'does not match the configured backbone ResNet' in msg
    assert problem in msg


def test_supervised_refuses_torchvision_resnet101(tmp_path):
    """A ResNet-101 classifier has the same fc as a ResNet-50 one, but its
    extra blocks are refused."""
    path = str(tmp_path / 'resnet101-local.pth')
    torch.save(torchvision_state_dict('resnet101'), path)
    with pytest.raises(PretrainedBackboneError) as err:
        _check(with_checkpoint(load_config(COCO_SUP), path, None))
    msg = str(err.value)
    assert 'It holds a ResNet-101 ((3, 4, 23, 3) bottleneck blocks per ' \
        'stage), the config builds a ResNet-50' in msg
    assert 'fc.weight' not in msg  # the head is not the problem


def test_byol_layout_loads_into_the_backbone(r50_checkpoint):
    """A local file with the layout of mmpretrain's BYOL checkpoint
    (backbone.*, neck.*, head.*, target_net.*) passes the architecture
    check and its online backbone is what the detector starts from."""
    cfg = with_checkpoint(load_config(COCO_BYOL), r50_checkpoint)
    model = build_detector(cfg)
    build_check_hook(cfg).check(model)
    model.init_weights()
    source = torch.load(r50_checkpoint, weights_only=True)['state_dict']
    assert_backbone_loaded(model, source, 'backbone.')
