# Copyright (c) mmselfemd contributors. All rights reserved.
"""Model zoo downloads: verified, cached, resumable, weights-only.

A local HTTP server on 127.0.0.1 (ephemeral port) serves a good checkpoint,
a corrupted one (wrong content for its ``-hash8``) and a malicious one
(pickles an ``os.system`` call, correct hash).
"""
import hashlib
import importlib.util
import io
import os
import os.path as osp
import threading
import warnings
from http.server import BaseHTTPRequestHandler
from typing import Dict, List, Optional, Tuple

import pytest
import torch
import torch.nn as nn
from mmengine.model.weight_init import PretrainedInit
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

from mmselfemd.apis import (
    CheckpointDownloadError,
    ChecksumMismatchError,
    UnknownZooModelError,
    download_checkpoint,
    enable_hub_checkpoints,
    get_cache_dir,
    get_zoo_model,
    hash_prefix_from_filename,
    load_from_zoo,
    load_model_index,
    load_zoo_checkpoint,
)
from mmselfemd.utils.safe_load import UnsafeCheckpointError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class _Evil:
    """Pickles as a call to ``os.system`` (the classic malicious pickle)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command, )


def _state_dict() -> Dict[str, torch.Tensor]:
    torch.manual_seed(0)
    linear = nn.Linear(4, 3)
    return {k: v.detach().clone() for k, v in linear.state_dict().items()}


def _to_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Files:
    """What the server serves, and a log of the requests it got."""

    def __init__(self) -> None:
        self.data: Dict[str, bytes] = {}
        self.requests: List[Tuple[str, Optional[str]]] = []
        self.truncate_once: set = set()
        self.lock = threading.Lock()

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for p, _ in self.requests if p == path)


class _Handler(BaseHTTPRequestHandler):
    files: _Files

    def log_message(self, *args) -> None:  # keep pytest output quiet
        pass

    def do_GET(self) -> None:
        files = self.server.files
        range_header = self.headers.get('Range')
        with files.lock:
            files.requests.append((self.path, range_header))
            data = files.data.get(self.path)
            truncate = self.path in files.truncate_once
            files.truncate_once.discard(self.path)
        if data is None:
            self.send_error(404)
            return
        start = 0
        if range_header and range_header.startswith('bytes='):
            start = int(range_header[len('bytes='):].split('-')[0])
        body = data[start:]
        self.send_response(206 if start else 200)
        self.send_header('Content-Length', str(len(body)))
        if start:
            self.send_header('Content-Range',
                             f'bytes {start}-{len(data) - 1}/{len(data)}')
        self.end_headers()
        # A dropped connection: half the body, then the socket closes.
        self.wfile.write(body[:len(body) // 2] if truncate else body)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Keep the cache and the model index inside the test's tmp_path."""
    monkeypatch.setenv('MMSELFEMD_HOME', str(tmp_path / 'home'))
    monkeypatch.delenv('MMSELFEMD_MODEL_INDEX', raising=False)


@pytest.fixture
def server(tmp_path, local_http_server):
    """HTTP server on 127.0.0.1 with good, corrupted and malicious files."""
    files = _Files()
    good = _to_bytes({'state_dict': _state_dict(), 'meta': {'epoch': 3}})
    good_hash = _sha256(good)
    corrupted = bytearray(good)
    corrupted[len(corrupted) // 2] ^= 0xFF
    marker = tmp_path / 'pwned'
    evil = _to_bytes({'state_dict': _state_dict(),
                      'x': _Evil(f'touch {marker}')})
    names = {
        'good': f'/tiny_20250101-{good_hash[:8]}.pth',
        'corrupted': f'/tiny-corrupt_20250101-{good_hash[:8]}.pth',
        'malicious': f'/evil_20250101-{_sha256(evil)[:8]}.pth',
        'unhashed': '/tiny_latest.pth',
    }
    files.data = {
        names['good']: good,
        names['corrupted']: bytes(corrupted),
        names['malicious']: evil,
        names['unhashed']: good,
    }
    _, base = local_http_server(_Handler, files=files, timeout=5)
    return {
        'files': files,
        'paths': names,
        'urls': {k: base + v for k, v in names.items()},
        'good_sha256': good_hash,
        'marker': marker,
    }


def _write_zoo(root, url: str, sha256: Optional[str] = None) -> str:
    """A model-index.yml importing one metafile with model 'tiny'."""
    (root / 'configs' / 'tiny').mkdir(parents=True)
    lines = ['Models:', '  - Name: tiny_selfemd', '    In Collection: Tiny',
             '    Config: configs/tiny/tiny.py', f'    Weights: {url}']
    if sha256:
        lines.append(f'    Weights SHA256: {sha256}')
    lines += ['  - Name: untrained_selfemd',
              '    Config: configs/tiny/untrained.py']
    (root / 'configs' / 'tiny' / 'metafile.yml').write_text(
        '\n'.join(lines) + '\n')
    index = root / 'model-index.yml'
    index.write_text('Import:\n  - configs/tiny/metafile.yml\n')
    return str(index)


def _assert_tiny(checkpoint) -> None:
    expected = _state_dict()
    assert set(checkpoint['state_dict']) == set(expected)
    for key, value in expected.items():
        assert torch.equal(checkpoint['state_dict'][key], value)


def test_hash_prefix_from_filename():
    assert hash_prefix_from_filename(
        'https://h/x/name_20201126-1a2b3c4d.pth') == '1a2b3c4d'
    assert hash_prefix_from_filename('resnet50-0676ba61.pth') == '0676ba61'
    assert hash_prefix_from_filename('epoch_12.pth') is None
    assert hash_prefix_from_filename('name-1a2b.pth') is None  # < 8 digits


def test_default_cache_dir(tmp_path):
    assert get_cache_dir() == str(tmp_path / 'home' / 'checkpoints')
    assert get_cache_dir(str(tmp_path / 'x')) == str(tmp_path / 'x')


def test_good_download_verifies_loads_and_uses_cache(server, tmp_path):
    url = server['urls']['good']
    path = download_checkpoint(url, progress=False)
    assert path == osp.join(get_cache_dir(), osp.basename(url))
    assert os.listdir(get_cache_dir()) == [osp.basename(url)]  # no .lock
    _assert_tiny(load_zoo_checkpoint(url, progress=False))
    _assert_tiny(load_zoo_checkpoint(url, progress=False))
    assert server['files'].count(server['paths']['good']) == 1


def test_corrupted_download_is_deleted(server):
    url = server['urls']['corrupted']
    with pytest.raises(ChecksumMismatchError) as info:
        download_checkpoint(url, progress=False)
    message = str(info.value)
    assert url in message
    assert server['good_sha256'][:8] in message
    got = _sha256(server['files'].data[server['paths']['corrupted']])
    assert got in message
    name = osp.basename(url)
    assert not osp.exists(osp.join(get_cache_dir(), name))
    assert not osp.exists(osp.join(get_cache_dir(), name + '.partial'))


def test_malicious_checkpoint_is_refused_and_deleted(server):
    url = server['urls']['malicious']
    for _ in range(2):  # never a cache hit: the refused file is gone
        with pytest.raises(UnsafeCheckpointError) as info:
            load_zoo_checkpoint(url, progress=False)
        assert 'system' in str(info.value)
        assert 'was deleted' in str(info.value)
        assert os.listdir(get_cache_dir()) == []
    assert server['files'].count(server['paths']['malicious']) == 2
    assert not server['marker'].exists()


def test_refused_file_left_in_cache_is_deleted(server):
    """A refused file an earlier version left in the cache: no cache hit."""
    url = server['urls']['malicious']
    cached = osp.join(get_cache_dir(), osp.basename(url))
    os.makedirs(get_cache_dir())
    with open(cached, 'wb') as f:
        f.write(server['files'].data[server['paths']['malicious']])
    with pytest.raises(UnsafeCheckpointError, match='cached file'):
        download_checkpoint(url, progress=False)
    assert not osp.exists(cached)
    assert not server['marker'].exists()


def test_not_a_checkpoint_is_deleted(server):
    path = '/page_20250101-' + _sha256(b'<html>404</html>')[:8] + '.pth'
    server['files'].data[path] = b'<html>404</html>'
    url = server['urls']['good'].rsplit('/', 1)[0] + path
    with pytest.raises(UnsafeCheckpointError, match='not a checkpoint that '
                       'loads weights-only.*was deleted'):
        download_checkpoint(url, progress=False)
    assert os.listdir(get_cache_dir()) == []


def test_require_sha256_refuses_before_downloading(server):
    url = server['urls']['unhashed']
    with pytest.raises(ValueError, match='not known'):
        download_checkpoint(url, progress=False, require_sha256=True)
    assert server['files'].count(server['paths']['unhashed']) == 0


def test_concurrent_downloads_share_one_transfer(server):
    url = server['urls']['good']
    paths, errors = [], []

    def fetch():
        try:
            paths.append(download_checkpoint(url, progress=False))
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and len(set(paths)) == 1 and len(paths) == 4
    assert server['files'].count(server['paths']['good']) == 1
    assert os.listdir(get_cache_dir()) == [osp.basename(url)]


def test_interrupted_download_resumes(server):
    url, path = server['urls']['good'], server['paths']['good']
    server['files'].truncate_once.add(path)
    with pytest.raises(CheckpointDownloadError, match='resume'):
        download_checkpoint(url, progress=False)
    cached = osp.join(get_cache_dir(), osp.basename(url))
    assert not osp.exists(cached)  # never a half file under the final name
    half = osp.getsize(cached + '.partial')
    assert half > 0
    _assert_tiny(load_zoo_checkpoint(url, progress=False))
    assert server['files'].requests[-1] == (path, f'bytes={half}-')
    assert not osp.exists(cached + '.partial')


def test_cached_file_is_reverified(server):
    url = server['urls']['good']
    path = download_checkpoint(url, progress=False)
    with open(path, 'r+b') as f:
        f.write(b'garbage')
    with pytest.warns(UserWarning, match='downloading it again'):
        download_checkpoint(url, progress=False)
    _assert_tiny(load_zoo_checkpoint(url, progress=False))
    assert server['files'].count(server['paths']['good']) == 2


def test_explicit_sha256_and_unhashed_names(server, tmp_path):
    url = server['urls']['unhashed']
    with pytest.warns(UserWarning, match=server['good_sha256']):
        download_checkpoint(url, cache_dir=str(tmp_path / 'a'),
                            progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        download_checkpoint(url, cache_dir=str(tmp_path / 'b'),
                            sha256=server['good_sha256'], progress=False)
    with pytest.raises(ChecksumMismatchError, match='given as sha256'):
        download_checkpoint(url, cache_dir=str(tmp_path / 'c'),
                            sha256='0' * 64, progress=False)
    assert os.listdir(tmp_path / 'c') == []
    with pytest.raises(ValueError, match='hex digits'):
        download_checkpoint(url, sha256='not-a-hash')


def test_file_url_and_local_path(server, tmp_path):
    source = tmp_path / 'src' / osp.basename(server['paths']['good'])
    source.parent.mkdir()
    source.write_bytes(server['files'].data[server['paths']['good']])
    path = download_checkpoint(source.as_uri(), progress=False)
    assert path.startswith(get_cache_dir())
    _assert_tiny(load_zoo_checkpoint(path))
    # local paths are used in place, checked only against sha256
    assert download_checkpoint(str(source)) == str(source)
    with pytest.raises(ChecksumMismatchError, match='left in place'):
        download_checkpoint(str(source), sha256='f' * 8)
    assert source.exists()
    with pytest.raises(FileNotFoundError):
        download_checkpoint(str(tmp_path / 'missing.pth'))
    with pytest.raises(ValueError, match='Unsupported URL scheme'):
        download_checkpoint('ftp://127.0.0.1/x.pth')


def test_http_error_is_clear(server):
    url = server['urls']['good'].replace('tiny_', 'missing_')
    with pytest.raises(CheckpointDownloadError, match='HTTP 404'):
        download_checkpoint(url, progress=False)


def test_zoo_name_resolution(server, tmp_path, monkeypatch):
    index = _write_zoo(tmp_path / 'zoo', server['urls']['unhashed'],
                       sha256=server['good_sha256'])
    zoo = load_model_index(index)
    assert list(zoo) == ['tiny_selfemd']  # untrained models are not listed
    model = zoo['tiny_selfemd']
    assert model.weights == server['urls']['unhashed']
    assert model.sha256 == server['good_sha256']
    assert model.config == 'configs/tiny/tiny.py'
    assert model.metafile.endswith(osp.join('tiny', 'metafile.yml'))

    with warnings.catch_warnings():
        warnings.simplefilter('error')  # pinned by the metafile: verified
        _assert_tiny(load_zoo_checkpoint('tiny_selfemd', model_index=index,
                                         progress=False))
    monkeypatch.setenv('MMSELFEMD_MODEL_INDEX', index)
    assert get_zoo_model('zoo://tiny_selfemd') == model
    _assert_tiny(load_zoo_checkpoint('zoo://tiny_selfemd', progress=False))
    with pytest.raises(UnknownZooModelError, match='Known names: '
                       'tiny_selfemd'):
        download_checkpoint('no_such_model')


def test_metafile_hash_is_enforced(server, tmp_path):
    index = _write_zoo(tmp_path / 'zoo', server['urls']['unhashed'],
                       sha256='ab' * 32)
    with pytest.raises(ChecksumMismatchError, match='Weights SHA256'):
        download_checkpoint('tiny_selfemd', model_index=index,
                            progress=False)
    assert not osp.exists(osp.join(get_cache_dir(), 'tiny_latest.pth'))


def test_malformed_metafile_hash(tmp_path):
    index = _write_zoo(tmp_path / 'zoo', 'http://127.0.0.1/x.pth',
                       sha256='0' * 64)  # YAML reads it as the integer 0
    with pytest.raises(ValueError, match='quote it'):
        load_model_index(index)


def test_empty_zoo_says_so(tmp_path, monkeypatch):
    index = tmp_path / 'model-index.yml'
    index.write_text('Models:\n  - Name: untrained\n')
    monkeypatch.setenv('MMSELFEMD_MODEL_INDEX', str(index))
    with pytest.raises(UnknownZooModelError, match='no trained checkpoints'):
        download_checkpoint('untrained')


@pytest.fixture
def schemes(monkeypatch):
    """mmengine's checkpoint schemes, restored after the test."""
    monkeypatch.setattr(CheckpointLoader, '_schemes',
                        dict(CheckpointLoader._schemes))
    return CheckpointLoader._schemes


def test_enable_adds_only_the_zoo_scheme(schemes):
    """enable_hub_checkpoints() (register_all_modules() and the backbone
    check hook call it) adds zoo:// and changes no scheme of mmengine's;
    importing mmselfemd registers nothing
    (tests/test_foundation/test_checkpoint_compat.py)."""
    others = {k: v for k, v in schemes.items() if k != 'zoo://'}
    enable_hub_checkpoints()
    enable_hub_checkpoints()  # idempotent
    assert dict(CheckpointLoader._schemes) == dict(others,
                                                  **{'zoo://': load_from_zoo})


def test_zoo_scheme(server, tmp_path, monkeypatch, schemes):
    enable_hub_checkpoints()
    good = server['urls']['good']
    monkeypatch.setenv('MMSELFEMD_MODEL_INDEX',
                       _write_zoo(tmp_path / 'zoo', good))
    _assert_tiny(CheckpointLoader.load_checkpoint('zoo://tiny_selfemd'))
    _assert_tiny(_load_checkpoint('zoo://tiny_selfemd', map_location='cpu'))
    assert server['files'].count(server['paths']['good']) == 1

    # init_cfg=dict(type='Pretrained', checkpoint='zoo://NAME')
    model = nn.Linear(4, 3)
    nn.init.zeros_(model.weight)
    PretrainedInit(checkpoint='zoo://tiny_selfemd')(model)
    assert torch.equal(model.weight, _state_dict()['weight'])


def test_verified_http_only_on_request(server, monkeypatch, schemes):
    """mmengine's http(s) loader is replaced only when asked for."""
    import mmengine.runner.checkpoint as mmengine_checkpoint

    original = mmengine_checkpoint.load_from_http
    enable_hub_checkpoints()
    assert CheckpointLoader._schemes['https://'] is original
    monkeypatch.setattr(mmengine_checkpoint, 'load_from_http', original)
    enable_hub_checkpoints(verified_http=True)
    good = server['urls']['good']
    _assert_tiny(_load_checkpoint(good, map_location='cpu'))
    _assert_tiny(_load_checkpoint(good, map_location='cpu'))
    assert server['files'].count(server['paths']['good']) == 1
    with pytest.raises(ChecksumMismatchError):
        _load_checkpoint(server['urls']['corrupted'])
    # mmengine's torchvision:// resolves to an URL and calls load_from_http
    monkeypatch.setattr(mmengine_checkpoint, 'get_torchvision_models',
                        lambda: {'evil': server['urls']['malicious']})
    with pytest.raises(UnsafeCheckpointError):
        _load_checkpoint('torchvision://evil')
    assert not server['marker'].exists()


def _load_cli():
    spec = importlib.util.spec_from_file_location(
        'model_zoo_download',
        osp.join(REPO, 'tools', 'model_zoo', 'download.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli(server, tmp_path, capsys):
    cli = _load_cli()
    out = tmp_path / 'out'
    assert cli.main([server['urls']['good'], '--out', str(out),
                     '--quiet']) == 0
    printed = capsys.readouterr().out
    assert str(out / osp.basename(server['paths']['good'])) in printed
    assert server['good_sha256'] in printed
    assert 'weights-only load: OK (2 entries' in printed

    assert cli.main([server['urls']['corrupted'], '--quiet']) == 1
    assert 'SHA-256 mismatch' in capsys.readouterr().err
    assert cli.main([server['urls']['malicious'], '--out', str(out),
                     '--quiet']) == 1
    err = capsys.readouterr().err
    assert 'Refused to load' in err and 'was deleted' in err
    assert not server['marker'].exists()
    # only the good file is left: no refused file, no .lock, no .partial
    assert os.listdir(out) == [osp.basename(server['paths']['good'])]

    empty = tmp_path / 'empty-index.yml'
    empty.write_text('Import: []\n')
    assert cli.main(['--list', '--model-index', str(empty)]) == 0
    assert 'zoo is empty' in capsys.readouterr().out
    index = _write_zoo(tmp_path / 'zoo', server['urls']['good'])
    assert cli.main(['--list', '--model-index', index]) == 0
    listing = capsys.readouterr().out
    assert 'tiny_selfemd' in listing and 'untrained' not in listing


def test_repository_zoo_lists_honestly(capsys):
    """The shipped zoo: --list must not fail, whatever it contains."""
    cli = _load_cli()
    assert cli.main(['--list']) == 0
    printed = capsys.readouterr().out
    assert 'model(s) in' in printed or 'zoo is empty' in printed
