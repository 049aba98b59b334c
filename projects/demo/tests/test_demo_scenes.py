# Copyright (c) mmselfemd contributors. All rights reserved.
import filecmp
import json
import os.path as osp

from pycocotools.coco import COCO

from projects.demo.demo_scenes import CLASSES, make_demo_scenes


def test_demo_scenes_deterministic_and_valid(tmp_path):
    kw = dict(num_train=6, num_val=3, num_unlabeled=2, size=96, seed=3,
              min_objects=2, max_objects=3)
    a = make_demo_scenes(str(tmp_path / 'a'), **kw)
    b = make_demo_scenes(str(tmp_path / 'b'), **kw)
    for key in a:
        assert filecmp.cmp(a[key], b[key], shallow=False), key
    assert filecmp.cmp(str(tmp_path / 'a' / 'train' / 'train_00005.jpg'),
                       str(tmp_path / 'b' / 'train' / 'train_00005.jpg'),
                       shallow=False)
    c = make_demo_scenes(str(tmp_path / 'c'), **dict(kw, seed=4))
    assert not filecmp.cmp(a['train'], c['train'], shallow=False)

    coco = COCO(a['train'])
    assert len(coco.getImgIds()) == 6
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == list(
        CLASSES)
    for img_id in coco.getImgIds():
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
        assert 2 <= len(anns) <= 3
        for ann in anns:
            x, y, w, h = ann['bbox']
            assert 0 <= x and 0 <= y and x + w <= 96 and y + h <= 96
            assert w >= 8 and h >= 8
    with open(a['pretrain']) as f:
        pretrain = json.load(f)
    # held-out val images never enter pretraining; no labels in the index
    assert set(pretrain) == {'images'}
    names = [im['file_name'] for im in pretrain['images']]
    assert len(names) == 8 and not any(n.startswith('val') for n in names)
    assert all(osp.isfile(osp.join(tmp_path, 'a', n)) for n in names)
