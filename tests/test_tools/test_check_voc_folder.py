# Copyright (c) mmselfemd contributors. All rights reserved.
"""tools/misc/check_voc_folder.py on a generated VOCdevkit: a clean tree
passes and its printed config reads it; each bad layout is named in one
paragraph with its files."""
import os
import os.path as osp
import re
import shutil

import pytest
from mmengine.config import Config

from mmselfemd.datasets.voc_devkit_check import check_voc_devkit

from .conftest import load_tool, run_tool

PROG = 'tools/misc/check_voc_folder.py'


@pytest.fixture(scope='module')
def tool():
    return load_tool('misc/check_voc_folder.py')


@pytest.fixture
def devkit(voc_root, tmp_path) -> str:
    """A copy of the generated VOCdevkit that the test may break."""
    return shutil.copytree(osp.join(voc_root, 'VOCdevkit'),
                           str(tmp_path / 'VOCdevkit'))


def _edit(path: str, old: str, new: str) -> None:
    with open(path) as f:
        text = f.read()
    assert old in text, (path, old)
    with open(path, 'w') as f:
        f.write(text.replace(old, new, 1))


def _write(devkit: str, rel: str, text: str) -> None:
    with open(osp.join(devkit, rel), 'w') as f:
        f.write(text)


def _rename_first_object(devkit: str, rel: str, name: str) -> None:
    path = osp.join(devkit, rel)
    with open(path) as f:
        old = re.search(r'<name>\w+</name>', f.read()).group(0)
    _edit(path, old, f'<name>{name}</name>')


def _errors(tool, capsys, *args):
    """Run the tool in this process; return (status, error paragraphs)."""
    status = tool.main([*args])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert all(ln.startswith(f'{PROG}: error: ') for ln in lines), err
    return status, [ln[len(f'{PROG}: error: '):] for ln in lines]


def test_clean_tree_and_printed_config(voc_root, tmp_path):
    """End to end, output to a pipe: no fault, whole progress lines, and a
    printed config whose datasets are the split files found."""
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules
    from mmengine.registry import DefaultScope
    proc = run_tool('misc/check_voc_folder.py', voc_root, '--decode',
                    '--print-config')
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    devkit = osp.join(voc_root, 'VOCdevkit')
    assert f'VOCdevkit: {devkit}' in out  # found below the given root
    assert 'VOC2007: ImageSets/Main/trainval.txt 4 ids, test.txt 3 ids' \
        in out
    assert 'VOC2012: ImageSets/Main/trainval.txt 3 ids' in out
    assert 'checked 10 images' in out
    assert 'unreadable: 0 of 10' in out
    assert 'no fault found\n# dataset config for the VOCdevkit found' in out
    assert '\r' not in out  # a log gets lines, not bar redraws
    assert re.findall(r'^(check|decode): 10/10 \(100%\)', out, re.M) == [
        'check', 'decode'
    ]
    text = out[out.index('# dataset config for the VOCdevkit found'):]
    path = tmp_path / 'voc_found.py'
    path.write_text(text)
    cfg = Config.fromfile(str(path))
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmdet'):
        train = DATASETS.build(cfg.train_dataloader.dataset)
        test = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(train) == 7 and len(test) == 3
    assert cfg.val_dataloader.dataset.data_root == devkit + '/'
    # the multi-scale pipeline of the config, by reference
    assert train.datasets[1].pipeline.transforms[2].scales[-1] == (1333, 800)
    assert [d.data_prefix['sub_data_root'] for d in train.datasets] == [
        osp.join(devkit, 'VOC2007/'),
        osp.join(devkit, 'VOC2012/')
    ]


def _remove(devkit, rel):
    os.remove(osp.join(devkit, rel))


def _truncate(devkit, rel):
    with open(osp.join(devkit, rel), 'r+b') as f:
        f.truncate(20)


# (name, change of the tree, substrings of the one paragraph)
CASES = [
    ('missing-image',
     lambda d: _remove(d, 'VOC2007/JPEGImages/000002.jpg'),
     ['1 ids of the split files have no JPEG',
      'VOC2007/JPEGImages/000002.jpg (in '
      'VOC2007/ImageSets/Main/trainval.txt)',
      'the run stops at the first missing one']),
    ('missing-xml',
     lambda d: _remove(d, 'VOC2007/Annotations/000005.xml'),
     ['1 ids of the split files have no annotation XML',
      'VOC2007/Annotations/000005.xml (in VOC2007/ImageSets/Main/test.txt)']),
    ('xml-not-well-formed',
     lambda d: _write(d, 'VOC2012/Annotations/2012_000002.xml',
                      '<annotation><size><width>128</width>'),
     ['1 annotation XMLs do not parse as VOC annotations',
      'VOC2012/Annotations/2012_000002.xml (not well-formed XML: no element '
      'found: line 1']),
    ('xml-box-not-a-number',
     lambda d: _edit(osp.join(d, 'VOC2007/Annotations/000001.xml'),
                     '<xmin>', '<xmin>abc'),
     ['1 annotation XMLs do not parse as VOC annotations',
      'VOC2007/Annotations/000001.xml (the <bndbox> of <object> 1 ("',
      '<xmin> is "abc', 'not a number)']),
    ('size-mismatch',
     lambda d: _edit(osp.join(d, 'VOC2012/Annotations/2012_000001.xml'),
                     '<width>128</width>', '<width>500</width>'),
     ["1 annotation XMLs give a <size> other than their JPEG's",
      'VOC2012/Annotations/2012_000001.xml (says 500x128, '
      'VOC2012/JPEGImages/2012_000001.jpg is 128x128)']),
    ('unknown-class',
     lambda d: _rename_first_object(d, 'VOC2007/Annotations/000003.xml',
                                    'unicorn'),
     ['1 objects have a class name outside the classes',
      '"unicorn" (1 objects in VOC2007/Annotations/000003.xml)',
      'the 20 classes: aeroplane, bicycle', 'silently drops']),
    ('unreadable-jpeg',
     lambda d: _truncate(d, 'VOC2012/JPEGImages/2012_000002.jpg'),
     ['1 JPEGs cannot be opened',
      'VOC2012/JPEGImages/2012_000002.jpg (UnidentifiedImageError']),
    ('missing-split',
     lambda d: _remove(d, 'VOC2012/ImageSets/Main/trainval.txt'),
     ['1 split files are missing or empty',
      'VOC2012/ImageSets/Main/trainval.txt (missing)',
      'VOCtest_06-Nov-2007.tar']),
    ('empty-split',
     lambda d: _write(d, 'VOC2007/ImageSets/Main/test.txt', ''),
     ['1 split files are missing or empty',
      'VOC2007/ImageSets/Main/test.txt (empty)']),
]


@pytest.mark.parametrize('change, expected', [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_layout_named_in_one_paragraph(tool, devkit, capsys, change,
                                           expected):
    change(devkit)
    status, paragraphs = _errors(tool, capsys, devkit)
    assert status == 1
    assert len(paragraphs) == 1, paragraphs
    (paragraph, ) = paragraphs
    assert paragraph.startswith(expected[0] + f' in {devkit}: ')
    for text in expected[1:]:
        assert text in paragraph, paragraph


def test_each_kind_its_own_paragraph_and_long_lists_capped(
        tool, devkit, capsys):
    folder = osp.join(devkit, 'VOC2007', 'JPEGImages')
    for name in os.listdir(folder):
        os.remove(osp.join(folder, name))
    _edit(osp.join(devkit, 'VOC2012/Annotations/2012_000003.xml'),
          '<height>128</height>', '<height>96</height>')
    status, paragraphs = _errors(tool, capsys, devkit, '--max-names', '2')
    assert status == 1
    assert len(paragraphs) == 2
    missing, size = paragraphs
    assert missing.startswith('7 ids of the split files have no JPEG')
    assert 'VOC2007/JPEGImages/000001.jpg (in ' \
        'VOC2007/ImageSets/Main/trainval.txt), VOC2007/JPEGImages/000002.jpg' \
        ' (in VOC2007/ImageSets/Main/trainval.txt) and 5 more.' in missing
    assert 'VOC2012/Annotations/2012_000003.xml (says 128x96' in size


def test_not_a_devkit(tool, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        tool.main([str(tmp_path)])
    assert exc.value.code == 1
    (line, ) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f'{PROG}: error: FileNotFoundError: '
                           f'"{tmp_path}" is not a VOCdevkit tree')
    assert 'VOCdevkit/VOC2007/{JPEGImages,Annotations,' in line


def test_classes_of_the_check(voc_root):
    """Names are checked against the classes given (a config's metainfo),
    the 20 VOC classes by default."""
    result = check_voc_devkit(voc_root, classes=('person', 'cat'))
    names = {d for _, d in result.problems['unknown_classes']}
    assert names == set(result.class_counts) - {'person', 'cat'}
    assert names  # the fixture has other classes
    assert not check_voc_devkit(voc_root).problems


def test_config_classes(tool):
    """The classes a config's training datasets set; None (the 20 VOC
    classes) for the VOC transfer configs, which set none."""
    voc = dict(type='VOCDataset', metainfo=dict(classes=('cat', 'dog')))
    cfg = Config(
        dict(train_dataloader=dict(dataset=dict(
            type='RepeatDataset',
            dataset=dict(type='ConcatDataset', datasets=[voc])))))
    assert tool.config_classes(cfg) == ('cat', 'dog')
    assert tool.config_classes(Config.fromfile(tool.DEFAULT_CONFIG)) is None


def test_check_coco_folder_recognises_voc(voc_root, capsys):
    coco_tool = load_tool('misc/check_coco_folder.py')
    assert coco_tool.main([osp.join(voc_root, 'VOCdevkit')]) == 0
    out = capsys.readouterr().out
    assert 'is a VOCdevkit tree: checking it as ' \
        'tools/misc/check_voc_folder.py does.' in out
    assert 'VOC2012: ImageSets/Main/trainval.txt 3 ids' in out
