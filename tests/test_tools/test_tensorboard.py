# Copyright (c) mmselfemd contributors. All rights reserved.
"""TensorBoard as a visualisation backend, with the documented snippet."""
import json
import os

import pytest

from .conftest import tensorboard_snippet


def test_snippet_names_both_backends():
    snippet = tensorboard_snippet()
    assert "dict(type='TensorboardVisBackend')" in snippet
    # scalars.json (analyze_logs.py) keeps being written
    assert "dict(type='LocalVisBackend')" in snippet


@pytest.mark.slow  # tiny_selfemd_run trains
def test_events_hold_the_logged_scalars(tiny_selfemd_run):
    """The run of the tiny config with the docs' snippet wrote TensorBoard
    events whose scalars are the ones of scalars.json, iteration by
    iteration."""
    if not tiny_selfemd_run['tensorboard']:
        pytest.skip('tensorboard is not installed (requirements/tests.txt '
                    'installs it)')
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )
    vis_dir = os.path.dirname(tiny_selfemd_run['scalars'])
    events = [f for f in os.listdir(vis_dir) if 'tfevents' in f]
    assert len(events) == 1, os.listdir(vis_dir)
    acc = EventAccumulator(vis_dir)
    acc.Reload()
    with open(tiny_selfemd_run['scalars']) as f:
        records = [json.loads(line) for line in f]
    assert [r['iter'] for r in records] == [1, 2, 3, 4]
    tags = set(acc.Tags()['scalars'])
    for key in ('loss', 'loss_emd', 'lr', 'time', 'data_time'):
        assert key in tags, sorted(tags)
        logged = {e.step: e.value for e in acc.Scalars(key)}
        assert sorted(logged) == [1, 2, 3, 4]
        for rec in records:
            assert logged[rec['step']] == pytest.approx(rec[key], rel=1e-6)
