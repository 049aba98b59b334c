# Copyright (c) mmselfemd contributors. All rights reserved.
"""list_images: the one folder listing of the dataset and the tools."""
import os

import pytest

from mmselfemd.datasets import list_images


def test_list_images_filters_sorts_and_recurses(tmp_path):
    for rel in ('b.JPG', 'a.png', 'notes.txt', 'sub/c.jpeg', 'sub/d.json',
                'sub/deeper/e.webp'):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'x')
    os.symlink(tmp_path / 'sub', tmp_path / 'linked')
    root = str(tmp_path)
    flat = list_images(root, recursive=False)
    assert flat == [f'{root}/a.png', f'{root}/b.JPG']
    rel = [p[len(root) + 1:] for p in list_images(root)]
    assert rel == ['a.png', 'b.JPG', 'linked/c.jpeg', 'linked/deeper/e.webp',
                   'sub/c.jpeg', 'sub/deeper/e.webp']
    with pytest.raises(FileNotFoundError, match='nope'):
        list_images(str(tmp_path / 'nope'))
