# Copyright (c) mmselfemd contributors. All rights reserved.
"""Isolate mmengine's global default scope between tests.

An mmengine ``Runner`` (or ``register_all_modules``) creates a
``DefaultScope`` instance that stays current for the rest of the process,
so a test that builds a Runner with ``default_scope='mmengine'`` would
change which registry every later test builds from. Each test runs inside
``overwrite_default_scope('mmselfemd')``, which restores the scopes after
it; tests that need mmdet's scope set it themselves.
"""
import pytest
from mmengine.registry import DefaultScope


@pytest.fixture(autouse=True)
def _isolated_default_scope():
    with DefaultScope.overwrite_default_scope('mmselfemd'):
        yield
