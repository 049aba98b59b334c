# Copyright (c) mmselfemd contributors. All rights reserved.
"""PretrainedBackboneCheckHook with a remote backbone checkpoint.

The hook downloads ``http(s)://`` and ``zoo://`` checkpoints from a local
HTTP server (127.0.0.1, ephemeral port), verifies them (SHA-256,
weights-only) and checks the architecture on the verified file. A URL is
then replaced by that file; ``zoo://`` stays, and ``init_weights()`` loads
the same verified file through the ``zoo://`` scheme, which the hook
registers (mmdet's tools call no ``register_all_modules()``).
"""
import functools
import hashlib
import os
import os.path as osp
from http.server import SimpleHTTPRequestHandler

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

from mmselfemd.apis import get_cache_dir
from mmselfemd.engine.hooks import PretrainedBackboneError

from .detection_helpers import (
    assert_backbone_loaded,
    build_check_hook,
    build_detector,
    with_checkpoint,
)


class _Handler(SimpleHTTPRequestHandler):
    """Serves a folder; records the requested paths."""

    def log_message(self, *args) -> None:
        self.server.requests.append(self.path)


class _Evil:
    """Pickles as a call to ``os.system``."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command, )


def _hashed_name(stem: str, data: bytes, digest: str = None) -> str:
    digest = digest or hashlib.sha256(data).hexdigest()
    return f'{stem}_20261129-{digest[:8]}.pth'


@pytest.fixture
def server(tmp_path, monkeypatch, r50_checkpoint, r18_checkpoint,
           local_http_server):
    monkeypatch.setenv('MMSELFEMD_HOME', str(tmp_path / 'home'))
    monkeypatch.delenv('MMSELFEMD_MODEL_INDEX', raising=False)
    www = tmp_path / 'www'
    www.mkdir()
    r50 = open(r50_checkpoint, 'rb').read()
    r18 = open(r18_checkpoint, 'rb').read()
    marker = tmp_path / 'pwned'
    evil_path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': _Evil(f'touch {marker}')}, evil_path)
    evil = evil_path.read_bytes()
    names = dict(
        r50=_hashed_name('selfemd_r50', r50),
        wrong_hash=_hashed_name('selfemd_r50-bad', r50, 'deadbeef'),
        unhashed='selfemd_r50_latest.pth',
        r18=_hashed_name('selfemd_r18', r18),
        evil=_hashed_name('selfemd_evil', evil))
    for key, data in dict(r50=r50, wrong_hash=r50, unhashed=r50, r18=r18,
                          evil=evil).items():
        (www / names[key]).write_bytes(data)
    httpd, base = local_http_server(
        functools.partial(_Handler, directory=str(www)), requests=[])
    return dict(urls={k: f'{base}/{v}' for k, v in names.items()},
                requests=httpd.requests, marker=marker,
                source=r50_checkpoint, tmp_path=tmp_path,
                r50_sha256=hashlib.sha256(r50).hexdigest())


def _check(cfg, checkpoint):
    cfg = with_checkpoint(cfg, checkpoint)
    model = build_detector(cfg)
    build_check_hook(cfg).check(model)
    return model


def _assert_loads_source(model, source):
    model.init_weights()
    expected = torch.load(source, weights_only=True)['state_dict']
    assert_backbone_loaded(model, expected, 'backbone.')


def test_https_checkpoint_is_verified_checked_and_loaded(
        server, faster_cfg):
    url = server['urls']['r50']
    model = _check(faster_cfg, url)
    local = model.backbone.init_cfg['checkpoint']
    assert local == osp.join(get_cache_dir(), osp.basename(url))
    assert os.listdir(get_cache_dir()) == [osp.basename(url)]
    _assert_loads_source(model, server['source'])
    assert len(server['requests']) == 1  # init_weights used the local file


def test_zoo_checkpoint_is_verified_checked_and_loaded(
        server, faster_cfg, monkeypatch):
    """As under mmdet's tools: no zoo:// scheme until the hook is built."""
    monkeypatch.setattr(
        CheckpointLoader, '_schemes',
        {k: v for k, v in CheckpointLoader._schemes.items()
         if k != 'zoo://'})
    zoo = server['tmp_path'] / 'zoo'
    (zoo / 'configs' / 'r50').mkdir(parents=True)
    (zoo / 'configs' / 'r50' / 'metafile.yml').write_text(
        'Models:\n  - Name: selfemd_r50_test\n'
        f"    Weights: {server['urls']['unhashed']}\n"
        f"    Weights SHA256: '{server['r50_sha256']}'\n")
    (zoo / 'model-index.yml').write_text(
        'Import:\n  - configs/r50/metafile.yml\n')
    monkeypatch.setenv('MMSELFEMD_MODEL_INDEX', str(zoo / 'model-index.yml'))
    model = _check(faster_cfg, 'zoo://selfemd_r50_test')
    # init_weights() loads through the zoo:// scheme: the verified file
    # in the cache, downloaded once
    assert model.backbone.init_cfg['checkpoint'] == 'zoo://selfemd_r50_test'
    assert os.listdir(get_cache_dir()) == ['selfemd_r50_latest.pth']
    _assert_loads_source(model, server['source'])
    assert len(server['requests']) == 1


@pytest.mark.parametrize('key, message', [
    ('wrong_hash', 'SHA-256 mismatch'),
    ('unhashed', 'is not known'),
    ('evil', 'needs a Python global outside the allow-list'),
    ('r18', 'It holds a ResNet-18'),
])
def test_bad_remote_checkpoints_are_refused(server, faster_cfg, key,
                                            message):
    url = server['urls'][key]
    with pytest.raises(PretrainedBackboneError) as info:
        _check(faster_cfg, url)
    assert message in str(info.value) and url in str(info.value)
    assert not server['marker'].exists()
    cached = os.listdir(get_cache_dir()) if osp.isdir(
        get_cache_dir()) else []
    # only the verified (but wrong-architecture) ResNet-18 is kept
    assert cached == ([osp.basename(url)] if key == 'r18' else [])
    if key == 'unhashed':  # refused before downloading anything
        assert server['requests'] == []
