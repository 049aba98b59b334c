# Copyright (c) mmselfemd contributors. All rights reserved.
"""What :func:`~mmselfemd.datasets.voc_devkit_check.check_voc_devkit`
found in a VOCdevkit tree, and its report: one paragraph per kind of
fault."""
from collections import Counter, OrderedDict
from typing import Dict, List, Sequence, Tuple

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
