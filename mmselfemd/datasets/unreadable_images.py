# Copyright (c) mmselfemd contributors. All rights reserved.
"""Decode every image of a data set and list the unreadable ones.

Shared by the data-check tools (``tools/misc/check_coco_folder.py``,
``tools/misc/check_voc_folder.py``): the images are decoded as training
decodes them (:func:`decode_image_robust`, strict JPEG), with a progress
display that writes whole lines when the output is not a terminal.
"""
import sys
from multiprocessing import Pool
from typing import List, Optional, Sequence, TextIO, Tuple

from mmselfemd.utils.progress import progress

from .transforms import UnreadableImageError, decode_image_robust


def check_image_file(path: str) -> Tuple[str, Optional[str]]:
    """Decode one file.

    Args:
        path (str): The image file.

    Returns:
        tuple[str, str | None]: ``path`` and ``None`` when it decodes,
        otherwise the error as ``'Type: message'``.
    """
    try:
        with open(path, 'rb') as f:
            buf = f.read()
        decode_image_robust(buf)
        return path, None
    except (OSError, UnreadableImageError) as e:
        return path, f'{type(e).__name__}: {e}'


def find_unreadable_images(paths: Sequence[str],
                           workers: int = 1,
                           file: Optional[TextIO] = None,
                           bad_list: Optional[str] = None,
                           max_shown: int = 50) -> List[Tuple[str, str]]:
    """Decode ``paths``, report the unreadable files, return them.

    Writes the progress (see :func:`mmselfemd.utils.progress.progress`),
    then ``unreadable: N of M`` and up to ``max_shown`` of the files with
    their errors to ``file``.

    Args:
        paths (Sequence[str]): The image files.
        workers (int): Decoding processes; 1 decodes in this process.
            Defaults to 1.
        file (TextIO, optional): Where to report. Defaults to
            ``sys.stdout``.
        bad_list (str, optional): Also write the unreadable files here, one
            a line. Defaults to None.
        max_shown (int): How many unreadable files to print. Defaults to 50.

    Returns:
        list[tuple[str, str]]: ``(path, error)`` of each unreadable file,
        sorted by path.
    """
    file = sys.stdout if file is None else file
    bar = progress(len(paths), file=file, desc='decode')
    if workers > 1:
        with Pool(workers) as pool:
            results = list(_collect(
                pool.imap_unordered(check_image_file, paths, chunksize=64),
                bar))
    else:
        results = list(_collect(map(check_image_file, paths), bar))
    bar.close()
    bad = sorted((path, err) for path, err in results if err is not None)
    file.write(f'unreadable: {len(bad)} of {len(paths)}\n')
    for path, err in bad[:max_shown]:
        file.write(f'  {path}: {err}\n')
    if len(bad) > max_shown:
        file.write(f'  ... and {len(bad) - max_shown} more\n')
    if bad_list:
        with open(bad_list, 'w') as f:
            f.writelines(f'{p}\n' for p, _ in bad)
        file.write(f'unreadable files written to {bad_list}\n')
    return bad


def _collect(results, bar):
    """Yield ``results``, advancing the progress ``bar`` for each."""
    for item in results:
        bar.update()
        yield item
