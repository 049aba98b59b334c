# Copyright (c) mmselfemd contributors. All rights reserved.
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest

from mmselfemd.datasets import CocoUnlabeledDataset

from .conftest import BAD, GOOD
from .utils import file_logger, skipped_files


def _touch(path):
    os.makedirs(osp.dirname(path), exist_ok=True)
    open(path, 'wb').close()


@pytest.fixture
def coco_root(tmp_path):
    """data/coco-like tree: two JSONs, a folder with extras, a list."""
    root = tmp_path / 'coco'
    ann = root / 'annotations'
    ann.mkdir(parents=True)
    train = [dict(id=i, file_name=f'{i:012d}.jpg', width=w, height=h)
             for i, (w, h) in enumerate([(640, 480), (20, 480), (640, 30),
                                         (500, 375)])]
    unl = [dict(id=100 + i, file_name=f'u{i}.jpg', width=640, height=427)
           for i in range(3)]
    # with categories/annotations (and "annotations" before "images")
    with open(ann / 'instances_train2017.json', 'w') as f:
        json.dump(dict(info={}, annotations=[dict(id=1, image_id=0)],
                       images=train, categories=[dict(id=1, name='x')]), f)
    # without categories / annotations, as image_info_unlabeled2017.json
    with open(ann / 'image_info_unlabeled2017.json', 'w') as f:
        json.dump(dict(info={}, licenses=[], images=unl), f)
    for img in train:
        _touch(str(root / 'train2017' / img['file_name']))
    for img in unl:
        _touch(str(root / 'unlabeled2017' / img['file_name']))
    _touch(str(root / 'unlabeled2017' / 'sub' / 'extra.JPG'))
    (root / 'unlabeled2017' / 'notes.txt').write_text('not an image')
    (root / 'list.txt').write_text(
        '# comment\nunlabeled2017/u0.jpg\n\nunlabeled2017/sub/extra.JPG\n')
    return str(root)


def _paths(ds):
    return [ds.get_data_info(i)['img_path'] for i in range(len(ds))]


def test_json_without_and_with_labels(coco_root):
    ds = CocoUnlabeledDataset(
        data_root=coco_root,
        ann_file='annotations/image_info_unlabeled2017.json',
        data_prefix=dict(img='unlabeled2017/'))
    assert len(ds) == 3
    info = ds.get_data_info(0)
    assert info['img_path'] == osp.join(coco_root, 'unlabeled2017', 'u0.jpg')
    assert (info['width'], info['height'], info['img_id']) == (640, 427, 100)
    ds = CocoUnlabeledDataset(
        data_root=coco_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'))
    assert len(ds) == 4
    assert ds.metainfo['classes'] == ()


def test_folder_recursive_and_flat(coco_root):
    ds = CocoUnlabeledDataset(
        data_root=coco_root, data_prefix=dict(img='unlabeled2017'))
    names = [osp.relpath(p, osp.join(coco_root, 'unlabeled2017'))
             for p in _paths(ds)]
    assert names == [osp.join('sub', 'extra.JPG'), 'u0.jpg', 'u1.jpg',
                     'u2.jpg']
    ds = CocoUnlabeledDataset(
        data_root=coco_root,
        sources=[dict(type='folder', path='unlabeled2017', recursive=False)])
    assert len(ds) == 3


def test_list_file(coco_root):
    ds = CocoUnlabeledDataset(data_root=coco_root, ann_file='list.txt')
    assert _paths(ds) == [
        osp.join(coco_root, 'unlabeled2017/u0.jpg'),
        osp.join(coco_root, 'unlabeled2017/sub/extra.JPG')
    ]


def test_mix_dedup_order_and_min_size(coco_root):
    kwargs = dict(
        data_root=coco_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        sources=[
            dict(type='coco_json',
                 ann_file='annotations/image_info_unlabeled2017.json',
                 img_prefix='unlabeled2017/'),
            dict(type='folder', path='unlabeled2017'),
            dict(type='list', ann_file='list.txt'),
            # the same JSON again, through a non-normalised prefix
            dict(type='coco_json',
                 ann_file='annotations/image_info_unlabeled2017.json',
                 img_prefix='./unlabeled2017/'),
        ])
    ds = CocoUnlabeledDataset(**kwargs)
    # 4 train + 3 unlabeled + 1 extra from the folder; all else duplicates
    assert len(ds) == 8
    paths = _paths(ds)
    assert paths == _paths(CocoUnlabeledDataset(**kwargs))  # deterministic
    assert paths[:4] == [
        osp.join(coco_root, 'train2017', f'{i:012d}.jpg') for i in range(4)
    ]
    assert paths[-1].endswith('extra.JPG')
    ds = CocoUnlabeledDataset(filter_cfg=dict(min_size=32), **kwargs)
    # drops the 20x480 and 640x30 images; folder entries (no size) stay
    assert len(ds) == 6
    ds = CocoUnlabeledDataset(filter_cfg=dict(min_width=600), **kwargs)
    assert len(ds) == 2 + 3 + 1  # 640-wide train, 3 unlabeled, extra


def test_duplicates_are_compared_by_real_path(coco_root, tmp_path,
                                             monkeypatch):
    log_file = file_logger(tmp_path)
    u0 = osp.join(coco_root, 'unlabeled2017', 'u0.jpg')
    link = tmp_path / 'link_to_u0.jpg'
    link.symlink_to(u0)
    folder_link = tmp_path / 'unlabeled_link'
    folder_link.symlink_to(osp.join(coco_root, 'unlabeled2017'))
    monkeypatch.chdir(coco_root)
    lst = tmp_path / 'dups.txt'
    lst.write_text('\n'.join([
        'unlabeled2017/u0.jpg',  # relative to the working directory
        u0,  # absolute
        str(link),  # a link to the file
        str(folder_link / 'u0.jpg'),  # through a linked folder
        osp.join(coco_root, 'unlabeled2017', 'sub', '..', 'u0.jpg'),
        'unlabeled2017/u1.jpg',
    ]) + '\n')
    ds = CocoUnlabeledDataset(ann_file=str(lst))
    assert _paths(ds) == ['unlabeled2017/u0.jpg', 'unlabeled2017/u1.jpg']
    with open(log_file) as f:
        log = f.read()
    assert 'dropped 4 duplicate entries' in log
    assert f'"{u0}" is "unlabeled2017/u0.jpg"' in log


def test_min_size_filter_is_logged(coco_root, tmp_path):
    log_file = file_logger(tmp_path)
    ds = CocoUnlabeledDataset(
        data_root=coco_root, ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'), filter_cfg=dict(min_size=32))
    assert len(ds) == 2
    with open(log_file) as f:
        assert 'dropped 2 of 4 images smaller than 32x32 pixels' in f.read()


def test_indices_and_lazy_init(coco_root):
    ds = CocoUnlabeledDataset(
        data_root=coco_root, ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'), indices=2, lazy_init=True)
    assert not ds._fully_initialized
    ds.full_init()
    assert len(ds) == 2


def test_wrong_data_root_fails_fast(coco_root, tmp_path):
    kwargs = dict(
        data_root=coco_root,
        ann_file='annotations/image_info_unlabeled2017.json',
        data_prefix=dict(img='wrong_folder/'))
    ds = CocoUnlabeledDataset(lazy_init=True, **kwargs)
    with pytest.raises(FileNotFoundError, match='data_root'):
        ds.full_init()
    with pytest.raises(FileNotFoundError, match='3 of 3'):
        CocoUnlabeledDataset(**kwargs)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        CocoUnlabeledDataset(data_root=str(tmp_path / 'nope'))
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(ValueError, match='no images found'):
        CocoUnlabeledDataset(data_root=str(empty))


def test_bad_arguments(coco_root):
    with pytest.raises(ValueError, match='sources\\[0\\]'):
        CocoUnlabeledDataset(data_root=coco_root, sources=[dict(type='csv')])
    with pytest.raises(ValueError, match='filter_cfg'):
        CocoUnlabeledDataset(data_root=coco_root, filter_cfg=dict(area=3))


def _zoo_list(root, tmp_path, names):
    lst = tmp_path / 'zoo.txt'
    lst.write_text('\n'.join(names) + '\n')
    return str(lst)


def test_mostly_unreadable_fails_fast_at_runtime(image_zoo, tmp_path):
    root, _ = image_zoo
    # 1 good image among 24 distinct broken ones; start-up check off.
    names = [osp.join(root, 'astronaut.jpg')]
    for i in range(24):
        path = tmp_path / f'broken{i}.jpg'
        path.write_bytes(b'' if i % 2 else b'garbage' * 10)
        names.append(str(path))
    ds = CocoUnlabeledDataset(
        ann_file=_zoo_list(root, tmp_path, names),
        check_files=0, pipeline=[dict(type='LoadImageRobust')])
    assert len(ds) == 25
    file_logger(tmp_path)
    np.random.seed(0)
    with pytest.raises(RuntimeError, match='Most of the dataset'):
        for i in range(len(ds)):
            ds[i]
    assert ds._num_bad >= 20


def test_some_unreadable_does_not_fail(image_zoo, tmp_path):
    root, _ = image_zoo
    # 30 readable (copies of one file: links would be one file) and 25
    # broken
    names = []
    for i in range(30):
        copy = tmp_path / f'good{i}.jpg'
        shutil.copyfile(osp.join(root, 'gray.jpg'), copy)
        names.append(str(copy))
    for i in range(25):
        path = tmp_path / f'broken{i}.jpg'
        path.write_bytes(b'')
        names.append(str(path))
    ds = CocoUnlabeledDataset(
        ann_file=_zoo_list(root, tmp_path, names),
        pipeline=[dict(type='LoadImageRobust')])
    file_logger(tmp_path)
    np.random.seed(0)
    for i in range(len(ds)):
        assert ds[i]['img_path'].startswith(str(tmp_path / 'good'))
    assert 20 <= ds._num_bad < ds._num_tried / 2


def test_mixed_set_refetches_good_samples(image_zoo, tmp_path):
    root, _ = image_zoo
    log_file = file_logger(tmp_path)
    ds = CocoUnlabeledDataset(
        data_root=root, ann_file=_zoo_list(root, tmp_path, GOOD + BAD),
        pipeline=[dict(type='LoadImageRobust')])
    good = {osp.join(root, n) for n in GOOD}
    np.random.seed(0)
    for i in range(len(ds)):
        out = ds[i]
        assert out['img_path'] in good
        assert out['img'].ndim == 3 and out['img'].shape[2] == 3
    assert set(skipped_files(log_file)) == {osp.join(root, n) for n in BAD}
