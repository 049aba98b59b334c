# Copyright (c) mmselfemd contributors. All rights reserved.
"""The generated VOCdevkit: deterministic, VOC's layout and conventions,
readable by mmdet's VOCDataset."""
import filecmp
import os
import os.path as osp

from projects.demo.demo_voc import VOC_NAMES, make_demo_voc, voc_annotation


def test_voc_box_convention(tmp_path):
    """Boxes are written 1-based and inclusive, as VOC's: mmdet's
    XMLDataset subtracts 1 and gets the 0-based box back."""
    from mmdet.datasets import VOCDataset
    devkit = tmp_path / 'VOCdevkit' / 'VOC2007'
    for sub in ('Annotations', 'JPEGImages', 'ImageSets/Main'):
        os.makedirs(devkit / sub)
    voc_annotation('VOC2007', 'a.jpg', 64, 48,
                   [('cat', (10, 20, 50, 40))]).write(
                       str(devkit / 'Annotations' / 'a.xml'))
    text = (devkit / 'Annotations' / 'a.xml').read_text()
    assert '<xmin>11</xmin>' in text and '<xmax>50</xmax>' in text
    assert '<width>64</width>' in text and '<height>48</height>' in text
    (devkit / 'ImageSets' / 'Main' / 'test.txt').write_text('a\n')
    dataset = VOCDataset(
        data_root=str(tmp_path / 'VOCdevkit'),
        ann_file='VOC2007/ImageSets/Main/test.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        test_mode=True,
        lazy_init=False)
    (instance, ) = dataset.get_data_info(0)['instances']
    assert instance['bbox'] == [10, 20, 49, 39]
    assert instance['bbox_label'] == dataset.metainfo['classes'].index('cat')


def test_make_demo_voc_layout_and_determinism(tmp_path):
    from mmdet.datasets import VOCDataset
    splits = {
        'VOC2007': {'trainval': 2, 'test': 1},
        'VOC2012': {'trainval': 1}
    }
    a = make_demo_voc(str(tmp_path / 'a'), splits=splits, size=64, seed=1)
    b = make_demo_voc(str(tmp_path / 'b'), splits=splits, size=64, seed=1)
    assert a == str(tmp_path / 'a' / 'VOCdevkit')
    main = osp.join(a, 'VOC2007', 'ImageSets', 'Main')
    assert open(osp.join(main, 'trainval.txt')).read() == '000001\n000002\n'
    assert open(osp.join(main, 'test.txt')).read() == '000003\n'
    assert os.listdir(osp.join(a, 'VOC2012', 'JPEGImages')) == [
        '2012_000001.jpg'
    ]
    for rel in ('VOC2007/JPEGImages/000003.jpg',
                'VOC2012/Annotations/2012_000001.xml'):
        assert filecmp.cmp(osp.join(a, rel), osp.join(b, rel), shallow=False)
    dataset = VOCDataset(
        data_root=a,
        ann_file='VOC2007/ImageSets/Main/trainval.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        test_mode=True)
    classes = dataset.metainfo['classes']
    labels = {classes[i['bbox_label']]
              for k in range(len(dataset))
              for i in dataset.get_data_info(k)['instances']}
    assert labels and labels <= set(VOC_NAMES.values())
    assert set(VOC_NAMES.values()) <= set(classes)
