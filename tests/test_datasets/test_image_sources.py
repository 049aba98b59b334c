# Copyright (c) mmselfemd contributors. All rights reserved.
"""The source loaders and the de-duplication of CocoUnlabeledDataset."""
import copy
import json
import os.path as osp

import pytest

from mmselfemd.datasets.image_sources import (
    load_source,
    read_coco_images,
    unique_by_real_path,
)


def test_json_stops_before_annotations():
    text = ('{"info": {"d": "x"}, "images": [{"file_name": "a.jpg"}], '
            '"annotations": [THIS IS NOT JSON')
    assert read_coco_images(text) == [{'file_name': 'a.jpg'}]
    with pytest.raises(ValueError, match='no "images"'):
        read_coco_images('{"annotations": []}', 'x.json')
    with pytest.raises(ValueError, match='cannot parse y.json'):
        read_coco_images('[1, 2]', 'y.json')


def test_coco_json_source_keeps_only_given_fields(tmp_path):
    ann = tmp_path / 'images.json'
    ann.write_text(json.dumps(dict(images=[
        dict(id=7, file_name='a.jpg', width=640, height=480),
        dict(file_name='sub/b.jpg'),
    ])))
    infos = load_source(
        dict(type='coco_json', ann_file=str(ann), img_prefix='imgs'))
    assert infos == [
        dict(img_path='imgs/a.jpg', img_id=7, width=640, height=480),
        dict(img_path='imgs/sub/b.jpg'),
    ]
    ann.write_text(json.dumps(dict(images=[dict(id=1)])))
    with pytest.raises(ValueError, match=r'images\[0\] has no "file_name"'):
        load_source(dict(type='coco_json', ann_file=str(ann)))
    with pytest.raises(FileNotFoundError, match='nope.json'):
        load_source(dict(type='list', ann_file=str(tmp_path / 'nope.json')))


def test_unique_by_real_path_keeps_first_and_leaves_input(tmp_path,
                                                          monkeypatch):
    target = tmp_path / 'a.jpg'
    target.write_bytes(b'x')
    (tmp_path / 'link.jpg').symlink_to(target)
    monkeypatch.chdir(tmp_path)
    infos = [
        dict(img_path='a.jpg', img_id=1),
        dict(img_path=str(target), img_id=2),  # absolute
        dict(img_path=str(tmp_path / 'link.jpg')),  # a link to it
        dict(img_path=osp.join('.', 'b.jpg')),  # need not exist
        dict(img_path='b.jpg'),
        dict(img_path='s3://bucket/a.jpg'),  # URLs compared as they are
        dict(img_path='s3://bucket/a.jpg'),
    ]
    before = copy.deepcopy(infos)
    kept, num_duplicates, examples = unique_by_real_path(iter(infos))
    assert infos == before
    assert kept == [infos[0], infos[3], infos[5]]
    assert num_duplicates == 4
    assert examples == [f'"{target}" is "a.jpg"',
                        f'"{tmp_path / "link.jpg"}" is "a.jpg"',
                        '"b.jpg" is "./b.jpg"']
