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
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, TextIO, Tuple

from PIL import Image

from mmselfemd.utils.progress import progress

from .voc_check_result import PROBLEM_KINDS, VOCCheckResult

__all__ = [
    'PROBLEM_KINDS', 'PROTOCOL_SPLITS', 'VOC_YEARS', 'VOCCheckResult',
    'check_voc_devkit', 'find_devkit', 'voc_classes'
]

#: The split files that the VOC07+12 transfer configs read.
PROTOCOL_SPLITS: Tuple[Tuple[str, str], ...] = (('VOC2007', 'trainval'),
                                                ('VOC2012', 'trainval'),
                                                ('VOC2007', 'test'))
VOC_YEARS = ('VOC2007', 'VOC2012')
#: A fault: ``(kind, file relative to the devkit, detail)``.
Problem = Tuple[str, str, str]


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


def _check_xml(devkit: str, xml_rel: str, jpg_rel: str,
               real: Optional[Tuple[int, int]],
               classes: Sequence[str]) -> Tuple[List[str], List[Problem]]:
    """Parse one annotation.

    Args:
        devkit (str): The ``VOCdevkit`` folder.
        xml_rel (str): The XML, relative to ``devkit``.
        jpg_rel (str): Its JPEG, relative to ``devkit``.
        real (tuple[int, int], optional): The JPEG's ``(width, height)``,
            None if it has none.
        classes (Sequence[str]): The class names allowed.

    Returns:
        tuple[list[str], list[Problem]]: The class names of its objects
        (none for a bad XML) and its faults.
    """
    try:
        root = ET.parse(osp.join(devkit, xml_rel)).getroot()
    except ET.ParseError as e:
        return [], [('bad_xmls', xml_rel, f'not well-formed XML: {e}')]
    objects = []
    try:
        xml_size = _xml_size(root)
        for index, obj in enumerate(root.findall('object'), 1):
            objects.append(_xml_object(obj, index))
    except ValueError as e:
        return [], [('bad_xmls', xml_rel, str(e))]
    problems = [('unknown_classes', xml_rel, name) for name in objects
                if name not in classes]
    if xml_size is not None and real is not None and real != xml_size:
        problems.append(('size_mismatch', xml_rel,
                         f'says {xml_size[0]}x{xml_size[1]}, {jpg_rel} is '
                         f'{real[0]}x{real[1]}'))
    return objects, problems


def _jpeg_size(
        path: str,
        jpg_rel: str) -> Tuple[Optional[Tuple[int, int]], Optional[Problem]]:
    """The JPEG's ``(width, height)`` from its header.

    Args:
        path (str): The JPEG file.
        jpg_rel (str): The same, relative to the devkit (for the fault).

    Returns:
        tuple: The size, or None and the fault if it cannot be opened.
    """
    try:
        with Image.open(path) as img:
            return img.size, None
    except OSError as e:
        return None, ('unreadable_images', jpg_rel,
                      f'{type(e).__name__}: {e}')


def _check_id(devkit: str, year: str, img_id: str, split_rel: str,
              classes: Sequence[str]
              ) -> Tuple[Optional[str], List[str], List[Problem]]:
    """Check the JPEG and the XML of one id of a split file.

    Returns:
        tuple: The JPEG's path (None if it is missing), the class names of
        the XML's objects and the faults found.
    """
    jpg_rel = f'{year}/JPEGImages/{img_id}.jpg'
    xml_rel = f'{year}/Annotations/{img_id}.xml'
    jpg_path = osp.join(devkit, jpg_rel)
    real, names, problems = None, [], []
    if osp.isfile(jpg_path):
        real, problem = _jpeg_size(jpg_path, jpg_rel)
        if problem is not None:
            problems.append(problem)
    else:
        jpg_path = None
        problems.append(('missing_images', jpg_rel, f'in {split_rel}'))
    if osp.isfile(osp.join(devkit, xml_rel)):
        names, xml_problems = _check_xml(devkit, xml_rel, jpg_rel, real,
                                         classes)
        problems += xml_problems
    else:
        problems.append(('missing_xmls', xml_rel, f'in {split_rel}'))
    return jpg_path, names, problems


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


def _read_splits(
    devkit: str
) -> Tuple[Dict[Tuple[str, str], List[str]], Dict[str, Dict[str, str]],
           List[Problem]]:
    """Read the protocol's split files (:data:`PROTOCOL_SPLITS`).

    Args:
        devkit (str): The ``VOCdevkit`` folder.

    Returns:
        tuple: ``{(year, split): ids}`` of the files read, ``{year: {id:
        split file}}`` of every id (first split file listing it) and the
        missing or empty split files as faults.
    """
    splits: Dict[Tuple[str, str], List[str]] = OrderedDict()
    ids: Dict[str, Dict[str, str]] = OrderedDict()
    problems: List[Problem] = []
    for year, split in PROTOCOL_SPLITS:
        rel = f'{year}/ImageSets/Main/{split}.txt'
        path = osp.join(devkit, rel)
        if not osp.isfile(path):
            problems.append(('missing_splits', rel, 'missing'))
            continue
        with open(path) as f:
            listed = [line.split()[0] for line in f if line.strip()]
        if not listed:
            problems.append(('missing_splits', rel, 'empty'))
            continue
        splits[(year, split)] = listed
        for img_id in listed:
            ids.setdefault(year, OrderedDict()).setdefault(img_id, rel)
    return splits, ids, problems


def _other_splits(devkit: str, years: Sequence[str]) -> Dict[str, List[str]]:
    """``{year: [split, ...]}``: the split files of ``ImageSets/Main`` that
    are neither per class nor of the protocol, e.g. ``train``, ``val``."""
    other = {}
    for year in years:
        main = osp.join(devkit, year, 'ImageSets', 'Main')
        names = sorted(
            n[:-4] for n in (os.listdir(main) if osp.isdir(main) else [])
            if n.endswith('.txt') and '_' not in n)
        protocol = {s for y, s in PROTOCOL_SPLITS if y == year}
        other[year] = [n for n in names if n not in protocol]
    return other


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
    result.splits, ids, problems = _read_splits(devkit)
    result.other_splits = _other_splits(devkit, result.years)
    for problem in problems:
        result.add(*problem)
    total = sum(len(v) for v in ids.values())
    bar = progress(total, file=file, desc='check')
    for year, year_ids in ids.items():
        for img_id, split_rel in year_ids.items():
            jpg_path, names, problems = _check_id(devkit, year, img_id,
                                                  split_rel, result.classes)
            if jpg_path is not None:
                result.jpegs.append(jpg_path)
            result.class_counts.update(names)
            for problem in problems:
                result.add(*problem)
            bar.update()
    bar.close()
    result.num_images = total
    return result
