# Copyright (c) mmselfemd contributors. All rights reserved.
"""Fixtures of the whole suite, tests/ and projects/*/tests/ alike (at the
repository root so that both see them).

Isolate mmengine's global default scope between tests.

An mmengine ``Runner`` (or ``register_all_modules``) creates a
``DefaultScope`` instance that stays current for the rest of the process,
so a test that builds a Runner with ``default_scope='mmengine'`` would
change which registry every later test builds from. Each test runs inside
``overwrite_default_scope('mmselfemd')``, which restores the scopes after
it; tests that need mmdet's scope set it themselves.

``registered`` registers mmselfemd's modules and ``one_thread`` runs a
test on one torch thread (modules opt in with ``pytestmark``).
``local_http_server`` starts HTTP servers on 127.0.0.1 for the download
tests (tests/test_apis/test_hub.py,
tests/test_engine/test_hooks/, the transfer tests);
``checkpoint_globals`` lists the Python globals a checkpoint's pickle
refers to (the checkpoint tests). ``r18_checkpoint``, ``r50_checkpoint``
and ``no_backbone_checkpoint`` are fabricated pretraining checkpoints (the
converter, transfer and error tests).
"""
import threading
from http.server import ThreadingHTTPServer

import pytest
import torch
from mmengine.registry import DefaultScope


@pytest.fixture(autouse=True)
def _isolated_default_scope():
    with DefaultScope.overwrite_default_scope('mmselfemd'):
        yield


@pytest.fixture
def registered():
    """Register mmselfemd's modules without changing the default scope
    (use with ``pytestmark = pytest.mark.usefixtures('registered')``)."""
    from mmselfemd.utils import register_all_modules
    register_all_modules(init_default_scope=False)


@pytest.fixture
def one_thread():
    """Run the test with one torch thread, then restore the count: tiny
    tensors on a busy 2-core runner stall on OpenMP otherwise."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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


def _byol_state_dict(depth: int) -> dict:
    """State dict of an mmpretrain BYOL with a ResNet-``depth`` backbone:
    the layout of an mmselfemd pretraining checkpoint (``backbone.*``,
    ``neck.*``, ``head.*``, the EMA target ``target_net.module.*``).

    The EMA target is filled with a constant so that a converter that reads
    it instead of the online backbone is caught.
    """
    from mmpretrain.models import BYOL
    channels = 2048 if depth >= 50 else 512
    narrow = dict(hid_channels=8, out_channels=4, norm_cfg=dict(type='BN1d'))
    model = BYOL(
        backbone=dict(type='ResNet', depth=depth, norm_cfg=dict(type='BN')),
        neck=dict(type='NonLinearNeck', in_channels=channels, **narrow),
        head=dict(
            type='LatentPredictHead',
            loss=dict(type='CosineSimilarityLoss'),
            predictor=dict(
                type='NonLinearNeck',
                in_channels=4,
                with_avg_pool=False,
                **narrow)))
    torch.manual_seed(depth)
    with torch.no_grad():
        for name, value in model.named_parameters():
            if not name.startswith('target_net.'):
                value.normal_(0, 0.02)
        for name, value in model.named_buffers():
            if name.endswith('running_var') and name.startswith('backbone'):
                value.uniform_(0.5, 2.0)
        for name, value in model.target_net.state_dict().items():
            if value.is_floating_point():
                value.fill_(7.0)
    return model.state_dict()


def _save_checkpoint(path: str, state_dict: dict) -> str:
    """Save like mmengine's runner (state_dict + plain meta)."""
    torch.save(
        dict(
            meta=dict(epoch=0, iter=2, seed=0, experiment_name='fake'),
            state_dict=state_dict), path)
    return path


@pytest.fixture(scope='session')
def r50_checkpoint(tmp_path_factory) -> str:
    """An mmselfemd-layout checkpoint with a ResNet-50 backbone (see
    :func:`_byol_state_dict`)."""
    folder = tmp_path_factory.mktemp('ckpt50')
    return _save_checkpoint(
        str(folder / 'byol_r50.pth'), _byol_state_dict(50))


@pytest.fixture(scope='session')
def r18_checkpoint(tmp_path_factory) -> str:
    """An mmselfemd-layout checkpoint with a ResNet-18 backbone."""
    folder = tmp_path_factory.mktemp('ckpt18')
    return _save_checkpoint(
        str(folder / 'byol_r18.pth'), _byol_state_dict(18))


@pytest.fixture(scope='session')
def no_backbone_checkpoint(tmp_path_factory) -> str:
    """A checkpoint without any backbone key (a classifier's head)."""
    folder = tmp_path_factory.mktemp('ckptnb')
    return _save_checkpoint(
        str(folder / 'classifier.pth'), {
            'head.fc.weight': torch.zeros(10, 4),
            'head.fc.bias': torch.zeros(10)
        })
