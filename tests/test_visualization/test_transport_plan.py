# Copyright (c) mmselfemd contributors. All rights reserved.
"""The transport-plan picture draws the matches it says it draws."""
import numpy as np
import pytest
from matplotlib.patches import ConnectionPatch

from mmselfemd.visualization import crop_view, draw_transport_plan


def _plan(n: int = 4, m: int = 9) -> np.ndarray:
    plan = np.random.default_rng(0).random((n, m))
    return plan / plan.sum()


@pytest.mark.parametrize('top_k', [0, 5])
def test_number_and_order_of_lines(top_k):
    import matplotlib.pyplot as plt
    img = np.zeros((60, 80, 3), np.uint8)
    views = [np.zeros((32, 32, 3), np.uint8)] * 2
    plan = _plan()
    fig = draw_transport_plan(img, [[0, 0, 40, 40], [20, 10, 80, 60]],
                              views, plan, (2, 2), (3, 3), 0.5, top_k)
    lines = [a for a in fig.artists if isinstance(a, ConnectionPatch)]
    plt.close(fig)
    # top_k=0: the heaviest match of each of the 4 nodes of A
    assert len(lines) == (top_k or plan.shape[0])
    widths = [ln.get_linewidth() for ln in lines]
    assert widths == sorted(widths)  # heaviest drawn last, thickest
    assert widths[-1] == pytest.approx(5.0)


def test_crop_view_flips_left_right():
    img = np.zeros((10, 20, 3), np.uint8)
    img[:, :10] = 255  # left half white
    view = crop_view(img, [0, 0, 20, 10], False, (10, 20))
    flipped = crop_view(img, [0, 0, 20, 10], True, (10, 20))
    assert view[5, 2].min() == 255 and view[5, 17].max() == 0
    np.testing.assert_array_equal(flipped, view[:, ::-1])
