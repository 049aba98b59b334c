# Copyright (c) mmselfemd contributors. All rights reserved.
"""The image files of a folder, as the datasets and tools list them."""
import os
import os.path as osp
from typing import List, Optional

import mmengine.fileio as fileio

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp',
                  '.ppm', '.pgm', '.gif')


def list_images(folder: str,
                recursive: bool = True,
                backend_args: Optional[dict] = None) -> List[str]:
    """Paths of the image files under ``folder``, sorted.

    Image files are told by their extension (:data:`IMG_EXTENSIONS`,
    case-insensitive). A local folder is walked with ``os.walk`` following
    symbolic links (sub-folders in sorted order); a remote one (``s3://``,
    ...) is listed by mmengine's file backend. The paths are
    ``folder`` joined with each file's path relative to it.

    Args:
        folder (str): The folder (local path or URI).
        recursive (bool): Include sub-folders. Defaults to True.
        backend_args (dict, optional): mmengine file backend arguments of a
            remote folder. Defaults to None.

    Returns:
        list[str]: The image paths, sorted by their relative path.

    Raises:
        FileNotFoundError: If a local ``folder`` does not exist.
    """
    if '://' in folder:
        names = [
            n for n in fileio.list_dir_or_file(
                folder,
                list_dir=False,
                suffix=IMG_EXTENSIONS,
                recursive=recursive,
                backend_args=backend_args)
            if n.lower().endswith(IMG_EXTENSIONS)
        ]
        return [fileio.join_path(folder, n) for n in sorted(names)]
    if not osp.isdir(folder):
        raise FileNotFoundError(f'image folder "{folder}" does not exist')
    names = []
    if recursive:
        for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
            dirnames.sort()
            rel = osp.relpath(dirpath, folder)
            names += [
                fn if rel == '.' else osp.join(rel, fn) for fn in filenames
                if fn.lower().endswith(IMG_EXTENSIONS)
            ]
    else:
        names = [
            fn for fn in os.listdir(folder)
            if fn.lower().endswith(IMG_EXTENSIONS)
            and osp.isfile(osp.join(folder, fn))
        ]
    return [osp.join(folder, n) for n in sorted(names)]
