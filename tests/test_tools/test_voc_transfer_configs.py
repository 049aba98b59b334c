# Copyright (c) mmselfemd contributors. All rights reserved.
"""PASCAL VOC transfer configs: the MoCo/DenseCL protocol, the split ResNet
of the C4 detector (res5 in the RoI head) loaded and refused like the COCO
configs' backbone, and a 2-iteration run with an evaluation on a generated
VOCdevkit."""
import copy
import glob
import json
import os
import os.path as osp
import shlex
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmselfemd.engine.hooks import (
    NO_CHECKPOINT,
    SAME_AS_BACKBONE,
    PretrainedBackboneError,
)

from .conftest import REPO, TOOLS, load_tool, tool_env
from .test_baseline_transfer_configs import (
    _torchvision_state_dict,
    check_and_init,
)
from .test_transfer_configs import _build_detector, _hook, _load

VOC = osp.join(REPO, 'configs', 'benchmarks', 'mmdetection', 'voc')
C4 = osp.join(VOC, 'faster-rcnn_r50-pre_c4-syncbn_8xb2-ms-24k_voc0712.py')
FPN = osp.join(VOC, 'faster-rcnn_r50-pre_fpn-syncbn_8xb2-ms-24k_voc0712.py')
COCO_FPN = osp.join(REPO, 'configs', 'benchmarks', 'mmdetection', 'coco',
                    'faster-rcnn_r50-pre_fpn-syncbn_8xb2-1x_coco.py')
SCRATCH, SUP, BYOL = (
    osp.join(VOC, f'faster-rcnn_r50-{init}_c4-syncbn_8xb2-ms-24k_voc0712.py')
    for init in ('scratch', 'sup-in1k-pre', 'byol-in1k-pre'))
CONFIGS = sorted(glob.glob(osp.join(VOC, '*.py')))
C4_CONFIGS = [C4, SCRATCH, SUP, BYOL]
BASELINES = [SCRATCH, SUP, BYOL]
DOC = osp.join(REPO, 'docs', 'en', 'detection_transfer.md')


@pytest.fixture(scope='module')
def c4_cfg():
    return _load(C4)


@pytest.fixture(scope='module')
def c4_model(c4_cfg):
    return _build_detector(c4_cfg)


def _with_checkpoint(cfg, checkpoint, prefix='backbone.'):
    """The config with the backbone's checkpoint set as --cfg-options sets
    it: the backbone's init_cfg only."""
    cfg = copy.deepcopy(cfg)
    cfg.model.backbone.init_cfg.checkpoint = checkpoint
    cfg.model.backbone.init_cfg.prefix = prefix
    return cfg


def test_configs_exist():
    assert CONFIGS == sorted(C4_CONFIGS + [FPN])


def _check_data_and_schedule(cfg):
    """VOC07+12 trainval -> VOC07 test, batch 16, 24k iterations, lr 0.02
    with 100 warm-up iterations and steps at 18k/22k, shorter side
    480..800 in steps of 32 for training and 800 for testing."""
    train = cfg.train_dataloader
    assert train.batch_size * 8 == 16
    assert cfg.auto_scale_lr.base_batch_size == 16
    assert train.sampler.type == 'InfiniteSampler'
    assert train.dataset.type == 'ConcatDataset'
    assert [(d.type, d.ann_file, d.data_prefix.sub_data_root)
            for d in train.dataset.datasets] == [
                ('VOCDataset', 'VOC2007/ImageSets/Main/trainval.txt',
                 'VOC2007/'),
                ('VOCDataset', 'VOC2012/ImageSets/Main/trainval.txt',
                 'VOC2012/'),
            ]
    for dataset in train.dataset.datasets:
        assert dataset.data_root == 'data/VOCdevkit/'
        resize = dataset.pipeline[2]
        assert resize.type == 'RandomChoiceResize' and resize.keep_ratio
        assert resize.scales == [(1333, s) for s in range(480, 801, 32)]
        assert len(resize.scales) == 11
        assert dataset.pipeline[3] == dict(type='RandomFlip', prob=0.5)
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        test = loader.dataset
        assert (test.type, test.ann_file, test.data_prefix.sub_data_root) \
            == ('VOCDataset', 'VOC2007/ImageSets/Main/test.txt', 'VOC2007/')
        assert test.pipeline[1] == dict(
            type='Resize', scale=(1333, 800), keep_ratio=True)
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert cfg.train_cfg.max_iters == 24000
    warmup, steps = cfg.param_scheduler
    assert (warmup.type, warmup.start_factor, warmup.end) == ('LinearLR',
                                                              0.001, 100)
    assert (steps.type, steps.milestones, steps.gamma) == ('MultiStepLR',
                                                           [18000, 22000],
                                                           0.1)
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4)
    assert cfg.optim_wrapper.paramwise_cfg == dict(norm_decay_mult=0.)
    ious = [round(0.5 + 0.05 * i, 2) for i in range(10)]
    assert [(m.type, m.eval_mode, m.iou_thrs, m.prefix)
            for m in cfg.val_evaluator] == [
                ('VOCMetric', '11points', ious, 'voc_11pt'),
                ('VOCMetric', 'area', ious, 'voc_area'),
            ]
    assert cfg.test_evaluator == cfg.val_evaluator
    assert 'torchvision://' not in cfg.pretty_text
    assert 'open-mmlab://' not in cfg.pretty_text


@pytest.mark.parametrize('path', C4_CONFIGS, ids=osp.basename)
def test_c4_protocol(path):
    cfg = _load(path)
    assert cfg.default_scope == 'mmdet'
    _check_data_and_schedule(cfg)
    model = cfg.model
    # pytorch-style ResNet as in pretraining, RGB, ImageNet mean/std
    assert model.data_preprocessor.mean == [123.675, 116.28, 103.53]
    assert model.data_preprocessor.std == [58.395, 57.12, 57.375]
    assert model.data_preprocessor.bgr_to_rgb is True
    backbone, res5 = model.backbone, model.roi_head.shared_head
    assert (backbone.type, backbone.depth, backbone.num_stages,
            backbone.out_indices) == ('ResNet', 50, 3, (2, ))
    assert (res5.type, res5.depth, res5.stage) == ('ResLayerExtraNorm', 50,
                                                   3)
    for part in (backbone, res5):
        assert part.style == 'pytorch'
        assert part.norm_cfg.type == 'SyncBN'
        assert part.norm_eval is False
    assert backbone.frozen_stages == -1
    assert model.roi_head.bbox_head.num_classes == 20
    assert 'mmpretrain.models.utils.res_layer_extra_norm' in \
        cfg.custom_imports.imports
    assert _hook(cfg).allow_random_init == ('scratch' in path)
    if 'scratch' in path:
        assert backbone.init_cfg is None and res5.init_cfg is None
    else:
        assert res5.init_cfg == dict(
            type='Pretrained', checkpoint=SAME_AS_BACKBONE)
    if path == C4:
        assert backbone.init_cfg == dict(
            type='Pretrained', checkpoint=NO_CHECKPOINT, prefix='backbone.')


def test_same_as_backbone_marker_is_the_hooks():
    assert SAME_AS_BACKBONE == 'same-as-model.backbone.init_cfg'


@pytest.mark.parametrize('path', BASELINES, ids=osp.basename)
def test_baselines_differ_only_in_the_initialisation(path):
    cfg, ref = _load(path).to_dict(), _load(C4).to_dict()
    for c in (cfg, ref):
        c['model']['backbone'].pop('init_cfg')
        c['model']['roi_head']['shared_head'].pop('init_cfg')
        c.pop('custom_hooks')
    assert cfg == ref


@pytest.mark.parametrize('voc, name', [(SUP, 'sup-in1k'),
                                       (BYOL, 'byol-in1k')],
                         ids=['sup-in1k', 'byol-in1k'])
def test_imagenet_baselines_use_the_coco_baselines_files(voc, name):
    coco = osp.join(REPO, 'configs', 'benchmarks', 'mmdetection', 'coco',
                    f'faster-rcnn_r50-{name}-pre_fpn-syncbn_8xb2-1x_coco.py')
    init, coco_init = (_load(p).model.backbone.init_cfg for p in (voc, coco))
    assert init.checkpoint == coco_init.checkpoint
    assert init.prefix == coco_init.get('prefix')  # torchvision's: none
    # the env variable does not change a fixed baseline
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('MMSELFEMD_PRETRAINED', '/data/x.pth')
        assert Config.fromfile(voc).model.backbone.init_cfg == init


def test_fpn_is_the_coco_detector_on_the_c4_data_and_schedule():
    fpn, c4, coco = _load(FPN), _load(C4), _load(COCO_FPN)
    _check_data_and_schedule(fpn)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'val_evaluator', 'train_cfg', 'param_scheduler',
                'optim_wrapper', 'default_hooks', 'custom_hooks'):
        assert fpn[key] == c4[key], key
    expected = copy.deepcopy(coco.model.to_dict())
    expected['roi_head']['bbox_head']['num_classes'] = 20
    assert fpn.model.to_dict() == expected


def test_refuses_without_checkpoint(c4_cfg, c4_model):
    with pytest.raises(PretrainedBackboneError,
                       match='No pretrained backbone checkpoint was given'):
        _hook(c4_cfg).check(c4_model)


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
    cfg = _with_checkpoint(c4_cfg, r50_checkpoint)
    model = _build_detector(cfg)
    log = check_and_init(_hook(cfg), model)
    assert 'match ResNet + ResLayerExtraNorm (model.backbone + ' \
        'model.roi_head.shared_head, which loads res5 from the same file)' \
        in log
    assert model.roi_head.shared_head.init_cfg == dict(
        type='Pretrained', checkpoint=r50_checkpoint, prefix='backbone.')
    for warning in ('do not match', 'unexpected key', 'missing keys'):
        assert warning not in log
    source = torch.load(r50_checkpoint, weights_only=True)['state_dict']
    _assert_resnet_loaded(model, source, 'backbone.')


def test_extracted_backbone_res5_follows_prefix_none(c4_cfg, r50_checkpoint,
                                                     tmp_path):
    """As tools/benchmarks/mmdetection/dist_train_fpn.sh passes it: the
    extracted file with prefix None, set on the backbone only."""
    extract = load_tool('model_converters/extract_backbone_weights.py')
    dst = str(tmp_path / 'backbone.pth')
    extract.main([r50_checkpoint, dst])
    cfg = _with_checkpoint(c4_cfg, dst, prefix=None)
    model = _build_detector(cfg)
    log = check_and_init(_hook(cfg), model)
    assert 'do not match' not in log
    source = torch.load(dst, weights_only=True)['state_dict']
    _assert_resnet_loaded(model, source, '')


def test_torchvision_file_on_c4(r50_checkpoint, tmp_path):
    """The supervised baseline's layout (no prefix, an fc classifier) on
    the split ResNet: fc is ignored by both parts."""
    path = str(tmp_path / 'resnet50-local.pth')
    source = _torchvision_state_dict()
    torch.save(source, path)
    cfg = copy.deepcopy(_load(SUP))
    assert cfg.model.backbone.init_cfg.prefix is None
    cfg.model.backbone.init_cfg.checkpoint = path
    model = _build_detector(cfg)
    log = check_and_init(_hook(cfg), model)
    assert 'Its classifier head (fc.weight, fc.bias)' in log
    assert 'do not match' not in log
    _assert_resnet_loaded(model, source, '')


def test_wrong_architecture_names_both_parts(c4_cfg, r18_checkpoint):
    cfg = _with_checkpoint(c4_cfg, r18_checkpoint)
    with pytest.raises(PretrainedBackboneError) as err:
        _hook(cfg).check(_build_detector(cfg))
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
    cfg = _with_checkpoint(c4_cfg, path)
    with pytest.raises(PretrainedBackboneError) as err:
        _hook(cfg).check(_build_detector(cfg))
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
    cfg = _with_checkpoint(c4_cfg, r50_checkpoint)
    cfg.model.roi_head.shared_head.init_cfg = res5_init
    with pytest.raises(PretrainedBackboneError) as err:
        _hook(cfg).check(_build_detector(cfg))
    msg = str(err.value)
    assert problem in msg
    assert "init_cfg=dict(type='Pretrained', checkpoint='same-as-model." \
        "backbone.init_cfg')" in msg


def test_random_backbone_with_pretrained_res5_is_refused(c4_cfg):
    cfg = copy.deepcopy(c4_cfg)
    cfg.model.backbone.init_cfg = None
    model = _build_detector(cfg)
    with pytest.raises(PretrainedBackboneError,
                       match='The backbone has no pretrained checkpoint, but '
                       r'`model.roi_head.shared_head` \(the C4'):
        _hook(_load(SCRATCH)).check(model)  # allows random init


def test_scratch_builds_random_and_passes():
    cfg = _load(SCRATCH)
    _hook(cfg).check(_build_detector(cfg))


def test_without_the_hook_res5_does_not_load_silently(c4_cfg,
                                                      r50_checkpoint):
    """The marker is no file: mmengine stops instead of leaving res5 at
    random or loading anything else."""
    model = _build_detector(_with_checkpoint(c4_cfg, r50_checkpoint))
    with pytest.raises((FileNotFoundError, OSError, IOError),
                       match=SAME_AS_BACKBONE):
        model.init_weights()


# --- 2 iterations and an evaluation on a generated VOCdevkit ---


def smoke_cfg_options() -> list:
    """The --cfg-options of the CPU smoke run in the docs (the shell block
    after ``<!-- voc-cpu-smoke -->`` in detection_transfer.md)."""
    text = open(DOC).read().split('<!-- voc-cpu-smoke -->')[1]
    block = text.split('```bash\n')[1].split('```')[0]
    words = shlex.split(block.replace('\\\n', ' '), comments=True)
    return words[words.index('--cfg-options') + 1:]


def test_c4_trains_and_evaluates_on_a_voc_tree(voc_root, r50_checkpoint,
                                               tmp_path):
    """tools/train.py with the pretrained C4 config and the docs' CPU
    options: the check passes, 2 iterations, then VOC07 test is evaluated
    with both metrics."""
    options = smoke_cfg_options()
    assert 'train_cfg.max_iters=2' in options
    work_dir = str(tmp_path / 'work')
    env = tool_env()
    env.update(MMSELFEMD_VOC_ROOT=osp.join(voc_root, 'VOCdevkit') + '/',
               MMSELFEMD_PRETRAINED=r50_checkpoint)
    proc = subprocess.run(
        [sys.executable, osp.join(TOOLS, 'train.py'), C4, '--work-dir',
         work_dir, '--cfg-options', *options],
        env=env, capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert 'Pretrained backbone check passed: 318 keys' in log
    assert 'Iter(train) [2/2]' in log
    assert 'do not match' not in log
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))
    (run, ) = [d for d in os.listdir(work_dir)
               if osp.isdir(osp.join(work_dir, d))]
    with open(osp.join(work_dir, run, 'vis_data', 'scalars.json')) as f:
        scalars = [json.loads(line) for line in f]
    metrics = [s for s in scalars if 'voc_11pt/mAP' in s]
    assert len(metrics) == 1  # one evaluation, after iteration 2
    for key in ('voc_11pt/mAP', 'voc_11pt/AP50', 'voc_11pt/AP75',
                'voc_area/mAP', 'voc_area/AP50'):
        assert 0.0 <= metrics[0][key] <= 1.0, key
