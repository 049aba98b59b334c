# Copyright (c) mmselfemd contributors. All rights reserved.
"""Isolate mmengine's global default scope between tests.

An mmengine ``Runner`` (or ``register_all_modules``) creates a
``DefaultScope`` instance that stays current for the rest of the process,
so a test that builds a Runner with ``default_scope='mmengine'`` would
change which registry every later test builds from. Each test runs inside
``overwrite_default_scope('mmselfemd')``, which restores the scopes after
it; tests that need mmdet's scope set it themselves.

``local_http_server`` starts HTTP servers on 127.0.0.1 for the download
tests (tests/test_apis/test_hub.py,
tests/test_tools/test_transfer_remote_checkpoint.py);
``checkpoint_globals`` lists the Python globals a checkpoint's pickle
refers to (the checkpoint tests).
"""
import threading
from http.server import ThreadingHTTPServer

import pytest
from mmengine.registry import DefaultScope


@pytest.fixture(autouse=True)
def _isolated_default_scope():
    with DefaultScope.overwrite_default_scope('mmselfemd'):
        yield


@pytest.fixture
def local_http_server():
    """Start HTTP servers on 127.0.0.1 (an ephemeral port), each in a
    daemon thread; they are shut down and closed after the test.

    Yields:
        callable: ``serve(handler, **attributes)`` sets ``attributes`` on
        the ``ThreadingHTTPServer`` (for the handler to read as
        ``self.server.NAME``), starts it and returns ``(server,
        base_url)``, ``base_url`` being ``http://127.0.0.1:PORT`` (no
        trailing slash).
    """
    started = []

    def serve(handler, **attributes):
        httpd = ThreadingHTTPServer(('127.0.0.1', 0), handler)
        for name, value in attributes.items():
            setattr(httpd, name, value)
        thread = threading.Thread(
            target=httpd.serve_forever, kwargs={'poll_interval': 0.05},
            daemon=True)
        thread.start()
        started.append((httpd, thread))
        return httpd, f'http://127.0.0.1:{httpd.server_address[1]}'

    yield serve
    for httpd, thread in started:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _checkpoint_globals(filename: str) -> set:
    """``module.name`` of every ``GLOBAL`` opcode of a zip checkpoint's
    pickle (protocol 2, torch's default). Unlike torch's
    ``get_unsafe_globals_in_checkpoint`` it lists them all, allow-listed or
    not, e.g. ``{'collections.OrderedDict',
    'torch._utils._rebuild_tensor_v2', 'torch.FloatStorage'}``."""
    import pickletools
    import zipfile
    with zipfile.ZipFile(filename) as zf:
        data = zf.read(
            next(n for n in zf.namelist() if n.endswith('/data.pkl')))
    return {
        arg.replace(' ', '.')
        for op, arg, _ in pickletools.genops(data) if op.name == 'GLOBAL'
    }


@pytest.fixture
def checkpoint_globals():
    """See :func:`_checkpoint_globals`."""
    return _checkpoint_globals
