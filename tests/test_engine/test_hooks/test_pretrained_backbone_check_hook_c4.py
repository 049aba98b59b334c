# Copyright (c) mmselfemd contributors. All rights reserved.
"""PretrainedBackboneCheckHook on the split ResNet of the VOC C4 detector
(res5 in ``roi_head.shared_head``): loaded and refused like the FPN
configs' backbone, the two parts as one ResNet."""
import copy

import pytest
import torch

from mmselfemd.engine.hooks import SAME_AS_BACKBONE, PretrainedBackboneError

from . import detection_helpers as det


def _check(cfg):
    det.build_check_hook(cfg).check(det.build_detector(cfg))


def test_refuses_without_checkpoint(c4_cfg):
    with pytest.raises(PretrainedBackboneError,
                       match='No pretrained backbone checkpoint was given'):
        _check(c4_cfg)


def _assert_resnet_loaded(model, source, prefix):
    """Stem to res4 in the backbone and res5 in the shared head are the
    checkpoint's tensors; the extra norm after res5 keeps its init."""
    backbone = model.backbone.state_dict()
    res5 = model.roi_head.shared_head.state_dict()
    assert len(backbone) > 200 and len(res5) > 50
    for key, value in list(backbone.items()) + [
            (k, v) for k, v in res5.items() if k.startswith('layer4.')
    ]:
        assert torch.equal(value, source[prefix + key]), key
    assert torch.equal(res5['norm.weight'], torch.ones(2048))
    assert torch.equal(res5['norm.bias'], torch.zeros(2048))


def test_backbone_and_res5_load_from_the_checkpoint(c4_cfg, r50_checkpoint):
    """The file's layer4 goes to roi_head.shared_head, everything else to
    the backbone; mmengine has nothing to warn about."""
    cfg = det.with_checkpoint(c4_cfg, r50_checkpoint)
    model = det.build_detector(cfg)
    log = det.check_and_init(det.build_check_hook(cfg), model)
    assert 'match ResNet + ResLayerExtraNorm (model.backbone + ' \
        'model.roi_head.shared_head, which loads res5 from the same file)' \
        in log
    assert "The shared head's own keys (norm.weight" in log
    assert model.roi_head.shared_head.init_cfg == dict(
        type='Pretrained', checkpoint=r50_checkpoint, prefix='backbone.')
    for warning in ('do not match', 'unexpected key', 'missing keys'):
        assert warning not in log
    source = torch.load(r50_checkpoint, weights_only=True)['state_dict']
    _assert_resnet_loaded(model, source, 'backbone.')


def test_extracted_backbone_res5_follows_prefix_none(c4_cfg, extracted_r50):
    """As tools/benchmarks/mmdetection/dist_train_fpn.sh passes it: the
    extracted file with prefix None, set on the backbone only."""
    cfg = det.with_checkpoint(c4_cfg, extracted_r50, prefix=None)
    model = det.build_detector(cfg)
    log = det.check_and_init(det.build_check_hook(cfg), model)
    assert 'do not match' not in log
    source = torch.load(extracted_r50, weights_only=True)['state_dict']
    _assert_resnet_loaded(model, source, '')


def test_torchvision_file_on_c4(tmp_path):
    """The supervised baseline's layout (no prefix, an fc classifier) on
    the split ResNet: fc is ignored by both parts."""
    path = str(tmp_path / 'resnet50-local.pth')
    source = det.torchvision_state_dict()
    torch.save(source, path)
    cfg = copy.deepcopy(det.load_config(det.VOC_SUP))
    assert cfg.model.backbone.init_cfg.prefix is None
    cfg.model.backbone.init_cfg.checkpoint = path
    model = det.build_detector(cfg)
    log = det.check_and_init(det.build_check_hook(cfg), model)
    assert 'Its classifier head (fc.weight, fc.bias)' in log
    assert 'do not match' not in log
    _assert_resnet_loaded(model, source, '')


def test_wrong_architecture_names_both_parts(c4_cfg, r18_checkpoint):
    with pytest.raises(PretrainedBackboneError) as err:
        _check(det.with_checkpoint(c4_cfg, r18_checkpoint))
    msg = str(err.value)
    assert 'does not match the configured backbone ResNet + ' \
        'ResLayerExtraNorm (model.backbone + model.roi_head.shared_head)' \
        in msg
    assert 'It holds a ResNet-18 ((2, 2, 2, 2) basic blocks per stage), ' \
        'the config builds a ResNet-50 ((3, 4, 6, 3) bottleneck' in msg
    assert '\n' not in msg


def test_checkpoint_without_res5_is_refused(c4_cfg, r50_checkpoint,
                                            tmp_path):
    """A file holding only stem to res4 would leave res5 random."""
    state = torch.load(r50_checkpoint, weights_only=True)['state_dict']
    path = str(tmp_path / 'no_res5.pth')
    torch.save(
        dict(state_dict={
            k: v
            for k, v in state.items() if not k.startswith('backbone.layer4.')
        }), path)
    with pytest.raises(PretrainedBackboneError) as err:
        _check(det.with_checkpoint(c4_cfg, path))
    assert 'expected keys are missing ("layer4.0.conv1.weight" ' \
        '(512, 1024, 1, 1)' in str(err.value)


@pytest.mark.parametrize(
    'res5_init, problem',
    [(dict(type='Pretrained', checkpoint='/other/file.pth'),
      'would load "/other/file.pth" with prefix "", but the backbone loads'),
     (None, 'res5 would start from random weights')],
    ids=['another-file', 'random'])
def test_res5_must_follow_the_backbone(c4_cfg, r50_checkpoint, res5_init,
                                       problem):
    cfg = det.with_checkpoint(c4_cfg, r50_checkpoint)
    cfg.model.roi_head.shared_head.init_cfg = res5_init
    with pytest.raises(PretrainedBackboneError) as err:
        _check(cfg)
    msg = str(err.value)
    assert problem in msg
    assert "init_cfg=dict(type='Pretrained', checkpoint='same-as-model." \
        "backbone.init_cfg')" in msg


def test_random_backbone_with_pretrained_res5_is_refused(c4_cfg):
    cfg = copy.deepcopy(c4_cfg)
    cfg.model.backbone.init_cfg = None
    model = det.build_detector(cfg)
    with pytest.raises(PretrainedBackboneError,
                       match='The backbone has no pretrained checkpoint, but '
                       r'`model.roi_head.shared_head` \(the C4'):
        # the scratch config's hook allows random init
        det.build_check_hook(det.load_config(det.VOC_SCRATCH)).check(model)


def test_scratch_builds_random_and_passes():
    _check(det.load_config(det.VOC_SCRATCH))


def test_without_the_hook_res5_does_not_load_silently(c4_cfg,
                                                      r50_checkpoint):
    """The marker is no file: mmengine stops instead of leaving res5 at
    random or loading anything else."""
    model = det.build_detector(det.with_checkpoint(c4_cfg, r50_checkpoint))
    with pytest.raises((FileNotFoundError, OSError, IOError),
                       match=SAME_AS_BACKBONE):
        model.init_weights()
