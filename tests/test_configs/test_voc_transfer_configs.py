# Copyright (c) mmselfemd contributors. All rights reserved.
"""PASCAL VOC transfer configs: the MoCo/DenseCL protocol (data, schedule,
evaluation), the C4 detector's split ResNet (res5 in the RoI head) and the
baselines that differ from it in the initialisation only. The check hook
on these configs: tests/test_engine/test_hooks/."""
import copy
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from test_engine.test_hooks.detection_helpers import (
    COCO,
    VOC,
    VOC_BYOL,
    VOC_C4,
    VOC_SCRATCH,
    VOC_SUP,
    build_check_hook,
    load_config,
)

from mmselfemd.engine.hooks import NO_CHECKPOINT, SAME_AS_BACKBONE

C4, SCRATCH, SUP, BYOL = VOC_C4, VOC_SCRATCH, VOC_SUP, VOC_BYOL
FPN = osp.join(VOC, 'faster-rcnn_r50-pre_fpn-syncbn_8xb2-ms-24k_voc0712.py')
COCO_FPN = osp.join(COCO, 'faster-rcnn_r50-pre_fpn-syncbn_8xb2-1x_coco.py')
CONFIGS = sorted(glob.glob(osp.join(VOC, '*.py')))
C4_CONFIGS = [C4, SCRATCH, SUP, BYOL]
BASELINES = [SCRATCH, SUP, BYOL]


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
    cfg = load_config(path)
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
    assert build_check_hook(cfg).allow_random_init == ('scratch' in path)
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
    cfg, ref = load_config(path).to_dict(), load_config(C4).to_dict()
    for c in (cfg, ref):
        c['model']['backbone'].pop('init_cfg')
        c['model']['roi_head']['shared_head'].pop('init_cfg')
        c.pop('custom_hooks')
    assert cfg == ref


@pytest.mark.parametrize('voc, name', [(SUP, 'sup-in1k'),
                                       (BYOL, 'byol-in1k')],
                         ids=['sup-in1k', 'byol-in1k'])
def test_imagenet_baselines_use_the_coco_baselines_files(voc, name):
    coco = osp.join(COCO,
                    f'faster-rcnn_r50-{name}-pre_fpn-syncbn_8xb2-1x_coco.py')
    init, coco_init = (load_config(p).model.backbone.init_cfg
                       for p in (voc, coco))
    assert init.checkpoint == coco_init.checkpoint
    assert init.prefix == coco_init.get('prefix')  # torchvision's: none
    # the env variable does not change a fixed baseline
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('MMSELFEMD_PRETRAINED', '/data/x.pth')
        assert Config.fromfile(voc).model.backbone.init_cfg == init


def test_fpn_is_the_coco_detector_on_the_c4_data_and_schedule():
    fpn, c4, coco = load_config(FPN), load_config(C4), load_config(COCO_FPN)
    _check_data_and_schedule(fpn)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'val_evaluator', 'train_cfg', 'param_scheduler',
                'optim_wrapper', 'default_hooks', 'custom_hooks'):
        assert fpn[key] == c4[key], key
    expected = copy.deepcopy(coco.model.to_dict())
    expected['roi_head']['bbox_head']['num_classes'] = 20
    assert fpn.model.to_dict() == expected
