# Copyright (c) mmselfemd contributors. All rights reserved.
"""Progress output: a redrawn bar on a terminal, whole lines in a log."""
import io

import pytest

from mmselfemd.utils.progress import LineProgress, progress


class _Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class _Terminal(io.StringIO):

    def isatty(self):
        return True


def _run(total, seconds_per_item, **kwargs):
    out, clock = io.StringIO(), _Clock()
    bar = progress(total, file=out, desc='decode', clock=clock, **kwargs)
    assert isinstance(bar, LineProgress)  # a StringIO is no terminal
    for _ in range(total):
        clock.now += seconds_per_item
        bar.update()
    bar.close()
    return out.getvalue().splitlines(), out.getvalue()


def test_fast_loop_writes_only_its_final_line():
    lines, text = _run(1000, 0.0001)  # 0.1 s in all
    assert '\r' not in text
    assert lines == ['decode: 1000/1000 (100%), 10000.0 items/s, elapsed 0s']


def test_slow_loop_writes_a_line_per_tenth():
    lines, text = _run(200, 0.5)  # 100 s: 10 % every 10 s
    assert '\r' not in text
    assert len(lines) == 10
    assert lines[0] == 'decode: 20/200 (10%), 2.0 items/s, elapsed 10s, ' \
        'ETA 90s'
    assert lines[-1] == 'decode: 200/200 (100%), 2.0 items/s, elapsed 100s'
    done = [int(line.split()[1].split('/')[0]) for line in lines]
    assert done == list(range(20, 201, 20))


def test_interval_bounds_the_silence_of_a_very_long_loop():
    # 100,000 items at 10 ms: a tenth takes 100 s, the interval is 30 s
    lines, _ = _run(100_000, 0.01, interval=30.0)
    assert len(lines) == 34  # every 30 s of 1000 s, and the last line
    assert [line.split(', ')[2] for line in lines[:5]] == [
        'elapsed 30s', 'elapsed 60s', 'elapsed 90s', 'elapsed 2m00s',
        'elapsed 2m30s'
    ]
    assert lines[-1] == 'decode: 100000/100000 (100%), 100.0 items/s, ' \
        'elapsed 16m40s'


def test_close_writes_an_unfinished_count_once():
    out, clock = io.StringIO(), _Clock()
    bar = LineProgress(10, file=out, desc='check', clock=clock)
    clock.now = 2.0
    for _ in range(4):
        bar.update()
    bar.close()
    bar.close()
    assert out.getvalue().splitlines() == [
        'check: 1/10 (10%), 0.5 items/s, elapsed 2s, ETA 18s',
        'check: 4/10 (40%), 2.0 items/s, elapsed 2s, ETA 3s'
    ]


def test_unknown_total_and_bad_arguments():
    out, clock = io.StringIO(), _Clock()
    bar = LineProgress(0, file=out, desc='scan', clock=clock)
    clock.now = 61.0
    bar.update(5)  # the interval has passed
    bar.close()  # nothing new
    assert out.getvalue() == 'scan: 5, 0.1 items/s, elapsed 61s\n'
    with pytest.raises(ValueError, match='step must be in'):
        LineProgress(5, step=0)
    with pytest.raises(ValueError, match='total must be >= 0'):
        LineProgress(-1)


def test_terminal_gets_mmengine_progress_bar():
    out = _Terminal()
    bar = progress(3, file=out)
    assert not isinstance(bar, LineProgress)
    for _ in range(3):
        bar.update()
    bar.close()
    text = out.getvalue()
    assert text.count('\r') == 3  # redrawn in place
    assert '3/3' in text and text.endswith('\n')
