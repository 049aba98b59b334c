# Copyright (c) mmselfemd contributors. All rights reserved.
"""find_unreadable_images: the decode check of the data-check tools."""
import io

import numpy as np
import pytest
from PIL import Image

from mmselfemd.datasets.unreadable_images import find_unreadable_images


@pytest.mark.parametrize('workers', [1, 2])
def test_lists_unreadable_files(tmp_path, workers):
    paths = []
    for i in range(3):
        path = str(tmp_path / f'{i}.jpg')
        Image.fromarray(np.full((16, 16, 3), 40 * i, np.uint8)).save(path)
        paths.append(path)
    with open(paths[1], 'r+b') as f:  # cut inside the entropy-coded data
        f.truncate(200)
    text = str(tmp_path / 'text.jpg')
    with open(text, 'w') as f:
        f.write('not an image')
    out, bad_list = io.StringIO(), str(tmp_path / 'bad.txt')
    bad = find_unreadable_images(paths + [text], workers=workers, file=out,
                                 bad_list=bad_list, max_shown=1)
    assert [p for p, _ in bad] == sorted([paths[1], text])
    report = out.getvalue()
    assert '\r' not in report
    assert 'decode: 4/4 (100%)' in report
    assert 'unreadable: 2 of 4' in report
    assert f'  {paths[1]}: ' in report and '  ... and 1 more' in report
    assert open(bad_list).read().split() == [p for p, _ in bad]
