# Copyright (c) mmselfemd contributors. All rights reserved.
"""Check a PASCAL VOC tree (``VOCdevkit/``) before a transfer run.

mmdet's ``VOCDataset`` reads, for every id of a split file
(``VOC20XX/ImageSets/Main/SPLIT.txt``), ``VOC20XX/Annotations/ID.xml`` and
``VOC20XX/JPEGImages/ID.jpg``. Some faults stop a run late (a missing JPEG
is read only when the sampler reaches it), others never stop it (an object
whose class name is not among the classes is silently dropped; a ``<size>``
that is not the image's size misleads the aspect-ratio grouping and the
size filter). :func:`check_voc_devkit` finds them all up front and
:meth:`VOCCheckResult.paragraphs` names each kind of fault in one
paragraph with the files concerned.
"""
import os
import os.path as osp
import xml.etree.ElementTree as ET
from collections import Counter, OrderedDict
from typing import Dict, List, Optional, Sequence, TextIO, Tuple

from PIL import Image

from mmselfemd.utils.progress import progress

#: The split files that the VOC07+12 transfer configs read.
PROTOCOL_SPLITS: Tuple[Tuple[str, str], ...] = (('VOC2007', 'trainval'),
                                                ('VOC2012', 'trainval'),
                                                ('VOC2007', 'test'))
VOC_YEARS = ('VOC2007', 'VOC2012')

#: Kinds of fault, in the order they are reported, with what they mean for
#: a run (the end of each paragraph).
PROBLEM_KINDS: Dict[str, str] = OrderedDict(
    missing_splits=(
        'The VOC07+12 configs train on VOC2007 and VOC2012 trainval and test '
        'on VOC2007 test; without these files the run stops when it builds '
        'its datasets (the test annotations come in their own archive, '
        'VOCtest_06-Nov-2007.tar).'),
    missing_images=(
        "mmdet's VOCDataset loads JPEGImages/ID.jpg for every id of the "
        'split file and the run stops at the first missing one, possibly '
        'hours in.'),
    missing_xmls=(
        'VOCDataset parses Annotations/ID.xml of every id when it builds '
        'the dataset, and stops at the first missing one.'),
    bad_xmls=(
        'VOCDataset stops at the first of these when it builds the '
        'dataset.'),
    unreadable_images=('Training stops when it reaches one of these.'),
    size_mismatch=(
        'mmdet takes the image size from the XML (aspect-ratio grouping, '
        'the min_size filter) while the pipeline resizes the real image, '
        'so one of the two is wrong and the boxes may not match the '
        'picture: fix the XML or the image.'),
    unknown_classes=(
        'VOCDataset silently drops these objects: the detector never sees '
        'them. Fix the names, or give a config whose classes include '
        'them.'),
)

_TITLES = dict(
    missing_splits='split files are missing or empty',
    missing_images='ids of the split files have no JPEG',
    missing_xmls='ids of the split files have no annotation XML',
    bad_xmls='annotation XMLs do not parse as VOC annotations',
    unreadable_images='JPEGs cannot be opened',
    size_mismatch="annotation XMLs give a <size> other than their JPEG's",
    unknown_classes='objects have a class name outside the classes',
)


def voc_classes() -> Tuple[str, ...]:
    """The 20 PASCAL VOC classes, as mmdet's ``VOCDataset`` has them."""
    from mmdet.datasets.voc import VOCDataset
    return tuple(VOCDataset.METAINFO['classes'])


def find_devkit(root: str) -> Optional[str]:
    """The ``VOCdevkit`` folder at or just below ``root``.

    Args:
        root (str): A ``VOCdevkit/`` folder (holding ``VOC2007/`` and/or
            ``VOC2012/``) or its parent.

    Returns:
        str | None: The folder holding the ``VOC20XX/`` folders, or None.
    """
    for folder in (root, osp.join(root, 'VOCdevkit')):
        if any(osp.isdir(osp.join(folder, y)) for y in VOC_YEARS):
            return folder
    return None


class VOCCheckResult:
    """What :func:`check_voc_devkit` found.

    Attributes:
        devkit (str): The ``VOCdevkit`` folder.
        years (list[str]): The ``VOC20XX`` folders found.
        splits (dict): ``{(year, split): ids}`` of the split files read.
        other_splits (dict): ``{year: [split, ...]}``: the other files of
            ``ImageSets/Main`` (not per class), e.g. ``train``, ``val``.
        classes (tuple[str]): The classes names were checked against.
        class_counts (Counter): Objects per class name.
        num_images (int): Distinct ids checked.
        problems (dict): ``{kind: [(file, detail), ...]}`` per kind of
            :data:`PROBLEM_KINDS` found (files relative to ``devkit``).
        jpegs (list[str]): Paths of the JPEGs found, for decoding.
    """

    def __init__(self, devkit: str, classes: Sequence[str]) -> None:
        self.devkit = devkit
        self.classes = tuple(classes)
        self.years: List[str] = []
        self.splits: Dict[Tuple[str, str], List[str]] = OrderedDict()
        self.other_splits: Dict[str, List[str]] = {}
        self.class_counts: Counter = Counter()
        self.num_images = 0
        self.problems: Dict[str, List[Tuple[str, str]]] = OrderedDict()
        self.jpegs: List[str] = []

    def add(self, kind: str, path: str, detail: str = '') -> None:
        """Record a fault of ``kind`` in ``path`` (relative to devkit)."""
        self.problems.setdefault(kind, []).append((path, detail))

    def paragraphs(self, max_names: int = 5) -> List[str]:
        """One paragraph (one line of text) per kind of fault found.

        Args:
            max_names (int): Files named per paragraph; the rest are
                counted. Defaults to 5.

        Returns:
            list[str]: The paragraphs, in the order of
            :data:`PROBLEM_KINDS`.
        """
        out = []
        for kind, consequence in PROBLEM_KINDS.items():
            items = self.problems.get(kind)
            if not items:
                continue
            if kind == 'unknown_classes':
                listed = self._unknown_classes(items, max_names)
                count = f'{len(items)} {_TITLES[kind]}'
            else:
                named = [f'{p} ({d})' if d else p
                         for p, d in items[:max_names]]
                more = len(items) - max_names
                listed = ', '.join(named) + (f' and {more} more'
                                             if more > 0 else '')
                count = f'{len(items)} {_TITLES[kind]}'
            text = (f'{count} in {self.devkit}: {listed}. {consequence}')
            out.append(' '.join(text.split()))
        return out

    def _unknown_classes(self, items, max_names: int) -> str:
        by_name: Dict[str, List[str]] = OrderedDict()
        for path, name in items:
            by_name.setdefault(name, []).append(path)
        parts = []
        for name, paths in list(by_name.items())[:max_names]:
            files = sorted(set(paths))
            shown = ', '.join(files[:max_names])
            more = len(files) - max_names
            shown += f' and {more} more' if more > 0 else ''
            parts.append(f'"{name}" ({len(paths)} objects in {shown})')
        more = len(by_name) - max_names
        known = ', '.join(self.classes)
        return ('; '.join(parts) + (f'; and {more} more names'
                                    if more > 0 else '') +
                f' (the {len(self.classes)} classes: {known})')

    def summary(self) -> List[str]:
        """Lines describing the tree: split files, images, objects."""
        lines = [f'VOCdevkit: {self.devkit}']
        for year in self.years:
            found = [f'{split}.txt {len(ids)} ids'
                     for (y, split), ids in self.splits.items() if y == year]
            other = self.other_splits.get(year)
            lines.append(
                f'{year}: ImageSets/Main/' + (', '.join(found) or
                                              'no split file of the '
                                              'protocol') +
                (f'; also {", ".join(o + ".txt" for o in other)}'
                 if other else ''))
        counts = ', '.join(f'{n} {c}'
                           for c, n in self.class_counts.most_common())
        lines.append(f'checked {self.num_images} images: '
                     f'{sum(self.class_counts.values())} objects'
                     + (f' ({counts})' if counts else ''))
        return lines


def _check_xml(result: VOCCheckResult, xml_rel: str, jpg_rel: str,
               real: Optional[Tuple[int, int]]) -> None:
    """Parse one annotation; record its faults (and its objects).

    ``real`` is the JPEG's ``(width, height)``, None if it has none.
    """
    try:
        root = ET.parse(osp.join(result.devkit, xml_rel)).getroot()
    except ET.ParseError as e:
        result.add('bad_xmls', xml_rel, f'not well-formed XML: {e}')
        return
    objects = []
    try:
        xml_size = _xml_size(root)
        for index, obj in enumerate(root.findall('object'), 1):
            objects.append(_xml_object(obj, index))
    except ValueError as e:
        result.add('bad_xmls', xml_rel, str(e))
        return
    for name in objects:
        result.class_counts[name] += 1
        if name not in result.classes:
            result.add('unknown_classes', xml_rel, name)
    if xml_size is not None and real is not None and real != xml_size:
        result.add('size_mismatch', xml_rel,
                   f'says {xml_size[0]}x{xml_size[1]}, {jpg_rel} is '
                   f'{real[0]}x{real[1]}')


def _jpeg_size(result: VOCCheckResult, jpg_rel: str,
               split_rel: str) -> Optional[Tuple[int, int]]:
    """The JPEG's ``(width, height)`` from its header; None (and the fault
    recorded) if it is missing or cannot be opened."""
    path = osp.join(result.devkit, jpg_rel)
    if not osp.isfile(path):
        result.add('missing_images', jpg_rel, f'in {split_rel}')
        return None
    result.jpegs.append(path)
    try:
        with Image.open(path) as img:
            return img.size
    except OSError as e:
        result.add('unreadable_images', jpg_rel, f'{type(e).__name__}: {e}')
        return None


def _int_field(parent: ET.Element, tag: str, where: str) -> int:
    node = parent.find(tag)
    text = None if node is None else (node.text or '').strip()
    if not text:
        raise ValueError(f'{where} has no <{tag}>')
    try:
        return int(float(text))
    except ValueError:
        raise ValueError(f'{where} <{tag}> is "{text}", not a number')


def _xml_size(root: ET.Element) -> Optional[Tuple[int, int]]:
    """``(width, height)`` of ``<size>``, None without one (mmdet then
    decodes the image)."""
    size = root.find('size')
    if size is None:
        return None
    return (_int_field(size, 'width', '<size>'),
            _int_field(size, 'height', '<size>'))


def _xml_object(obj: ET.Element, index: int) -> str:
    """The class name of an ``<object>``, its box checked."""
    node = obj.find('name')
    name = None if node is None else (node.text or '').strip()
    if not name:
        raise ValueError(f'<object> {index} has no <name>')
    where = f'<object> {index} ("{name}")'
    box = obj.find('bndbox')
    if box is None:
        raise ValueError(f'{where} has no <bndbox>')
    for tag in ('xmin', 'ymin', 'xmax', 'ymax'):
        _int_field(box, tag, f'the <bndbox> of {where}')
    return name


def _read_splits(result: VOCCheckResult) -> Dict[str, Dict[str, str]]:
    """Read the protocol's split files; ``{year: {id: split file}}``."""
    ids: Dict[str, Dict[str, str]] = OrderedDict()
    for year, split in PROTOCOL_SPLITS:
        rel = f'{year}/ImageSets/Main/{split}.txt'
        path = osp.join(result.devkit, rel)
        if not osp.isfile(path):
            result.add('missing_splits', rel, 'missing')
            continue
        with open(path) as f:
            listed = [line.split()[0] for line in f if line.strip()]
        if not listed:
            result.add('missing_splits', rel, 'empty')
            continue
        result.splits[(year, split)] = listed
        for img_id in listed:
            ids.setdefault(year, OrderedDict()).setdefault(img_id, rel)
    for year in result.years:
        main = osp.join(result.devkit, year, 'ImageSets', 'Main')
        names = sorted(
            n[:-4] for n in (os.listdir(main) if osp.isdir(main) else [])
            if n.endswith('.txt') and '_' not in n)
        protocol = {s for y, s in PROTOCOL_SPLITS if y == year}
        result.other_splits[year] = [n for n in names if n not in protocol]
    return ids


def check_voc_devkit(root: str,
                     classes: Optional[Sequence[str]] = None,
                     file: Optional[TextIO] = None) -> VOCCheckResult:
    """Check the VOCdevkit tree at (or just below) ``root``.

    For each id of the protocol's split files (:data:`PROTOCOL_SPLITS`) it
    checks that the JPEG and the XML exist, that the XML parses as a VOC
    annotation (``<size>`` and box coordinates numbers, every object with a
    ``<name>`` and a ``<bndbox>``), that ``<size>`` is the JPEG's size (read
    from its header) and that every class name is among ``classes``.

    Args:
        root (str): The ``VOCdevkit/`` folder or its parent.
        classes (Sequence[str], optional): The class names allowed.
            Defaults to the 20 VOC classes (:func:`voc_classes`).
        file (TextIO, optional): Where to write the progress. Defaults to
            ``sys.stdout``.

    Returns:
        VOCCheckResult: What was found; ``result.problems`` is empty for a
        tree that the VOC configs read without a fault.

    Raises:
        FileNotFoundError: If ``root`` holds no ``VOC2007/`` or ``VOC2012/``
            folder (itself or in ``root/VOCdevkit``).
    """
    devkit = find_devkit(root)
    if devkit is None:
        raise FileNotFoundError(
            f'"{root}" is not a VOCdevkit tree: neither it nor '
            f'"{osp.join(root, "VOCdevkit")}" holds a VOC2007/ or VOC2012/ '
            'folder. Expected VOCdevkit/VOC2007/{JPEGImages,Annotations,'
            'ImageSets/Main/{trainval,test}.txt} and VOCdevkit/VOC2012/'
            '{JPEGImages,Annotations,ImageSets/Main/trainval.txt} '
            '(docs/en/detection_transfer.md, "PASCAL VOC").')
    result = VOCCheckResult(devkit,
                            voc_classes() if classes is None else classes)
    result.years = [y for y in VOC_YEARS if osp.isdir(osp.join(devkit, y))]
    ids = _read_splits(result)
    total = sum(len(v) for v in ids.values())
    bar = progress(total, file=file, desc='check')
    for year, year_ids in ids.items():
        for img_id, split_rel in year_ids.items():
            jpg_rel = f'{year}/JPEGImages/{img_id}.jpg'
            xml_rel = f'{year}/Annotations/{img_id}.xml'
            real = _jpeg_size(result, jpg_rel, split_rel)
            if osp.isfile(osp.join(devkit, xml_rel)):
                _check_xml(result, xml_rel, jpg_rel, real)
            else:
                result.add('missing_xmls', xml_rel, f'in {split_rel}')
            bar.update()
    bar.close()
    result.num_images = total
    return result
