# Copyright (c) mmselfemd contributors. All rights reserved.
"""tools/misc/publish_model.py on a real tools/train.py checkpoint."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
import yaml

from mmselfemd.apis import (
    hash_prefix_from_filename,
    load_model_index,
    sha256_file,
)
from mmselfemd.utils import load_checkpoint_safe

from .conftest import TOOLS, load_tool, tool_env

PUBLISH = osp.join(TOOLS, 'misc', 'publish_model.py')


@pytest.fixture(scope='module')
def published(tiny_selfemd_run, tmp_path_factory):
    """Publish the run's iteration-4 checkpoint with the command line."""
    out_dir = tmp_path_factory.mktemp('publish')
    out = str(out_dir / 'selfemd_resnet18_1xb4-tiny.pth')
    proc = subprocess.run([
        sys.executable, PUBLISH, tiny_selfemd_run['checkpoint'], out,
        '--date', '20261129', '--base-url', 'https://example.org/zoo/'
    ],
                          env=tool_env(),
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = os.listdir(out_dir)
    assert len(files) == 1, files  # no temporary file left behind
    return dict(path=str(out_dir / files[0]), stdout=proc.stdout,
                src=tiny_selfemd_run['checkpoint'])


def test_strips_everything_but_weights_and_meta(published):
    src = load_checkpoint_safe(published['src'])
    # what tools/train.py writes: the resume state is there
    assert {'optimizer', 'message_hub', 'param_schedulers'} <= set(src)
    out = torch.load(published['path'], weights_only=True)
    assert set(out) == {'state_dict', 'meta'}
    assert out['state_dict'].keys() == src['state_dict'].keys()
    for key, value in src['state_dict'].items():
        assert torch.equal(out['state_dict'][key], value), key
    assert out['meta']['iter'] == 4
    assert 'removed: message_hub, optimizer, param_schedulers' in \
        published['stdout']


def test_loads_without_mmselfemd(published):
    """A fresh interpreter with only torch loads it weights-only."""
    code = ('import sys, torch; '
            "c = torch.load(sys.argv[1], weights_only=True); "
            "assert 'mmselfemd' not in sys.modules; print(len(c['state_dict'"
            ']))')
    proc = subprocess.run([sys.executable, '-I', '-c', code,
                           published['path']],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) > 100


def test_name_carries_date_and_sha256_prefix(published):
    name = osp.basename(published['path'])
    sha = sha256_file(published['path'])
    assert name == f'selfemd_resnet18_1xb4-tiny_20261129-{sha[:8]}.pth'
    # the zoo's download verification reads the same prefix back
    assert hash_prefix_from_filename(name) == sha[:8]
    assert f'sha256: {sha}' in published['stdout']


def test_metafile_entry_is_valid(published, tmp_path):
    """The printed entry, pasted under Models:, is read by the zoo index."""
    out = published['stdout']
    entry = out.split('under Models:):\n')[1].split('\n(replace')[0]
    sha = sha256_file(published['path'])
    name = osp.basename(published['path'])
    (model, ) = yaml.safe_load(entry)
    assert model['Name'] == 'selfemd_resnet18_1xb4-tiny'
    assert model['Weights'] == f'https://example.org/zoo/{name}'
    assert model['Weights SHA256'] == sha  # quoted: a string, not a number
    assert model['Metadata'] == {'Iterations': 4, 'Batch Size': 4}
    metafile = tmp_path / 'metafile.yml'
    metafile.write_text('Collections:\n  - Name: SelfEMD\nModels:\n' + entry)
    index = tmp_path / 'model-index.yml'
    index.write_text(f'Import:\n  - {metafile}\n')
    zoo = load_model_index(str(index))
    assert zoo['selfemd_resnet18_1xb4-tiny'].sha256 == sha


def test_same_input_same_hash(published, tmp_path):
    tool = load_tool('misc/publish_model.py')
    again = tool.publish(tool.parse_args([
        published['src'],
        str(tmp_path / 'selfemd_resnet18_1xb4-tiny.pth'), '--date',
        '20261129'
    ]))
    assert osp.basename(again) == osp.basename(published['path'])


def test_config_found_by_name(tiny_selfemd_run, tmp_path, capsys):
    tool = load_tool('misc/publish_model.py')
    tool.main([
        tiny_selfemd_run['checkpoint'],
        str(tmp_path / 'selfemd_resnet50_8xb32-coslr-800e_coco.pth')
    ])
    out = capsys.readouterr().out
    assert 'Config: configs/selfemd/selfemd_resnet50_8xb32-coslr-800e_coco' \
        '.py' in out
    assert 'Batch Size: 256' in out  # 8 GPUs x 32 from the name
    assert 'In Collection: SelfEMD' in out
    # a BYOL baseline is filed under its own collection
    tool.main([
        tiny_selfemd_run['checkpoint'],
        str(tmp_path / 'byol_resnet50_8xb32-coslr-800e_coco.pth')
    ])
    assert 'In Collection: BYOL' in capsys.readouterr().out


def test_error_is_one_line_without_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, PUBLISH, str(tmp_path / 'nope.pth'),
         str(tmp_path / 'x.pth')],
        env=tool_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    err = proc.stderr.strip()
    assert err.startswith('tools/misc/publish_model.py: error: '
                          'FileNotFoundError:') and '\n' not in err
    assert 'not found' in err and 'Traceback' not in proc.stderr


@pytest.mark.parametrize('case', ['not_a_checkpoint', 'no_tensors', 'date',
                                  'keep_keys'])
def test_bad_input(case, tmp_path, tiny_selfemd_run, capsys):
    tool = load_tool('misc/publish_model.py')
    src = tiny_selfemd_run['checkpoint']
    extra = []
    if case == 'not_a_checkpoint':
        src = str(tmp_path / 'list.pth')
        torch.save([1, 2, 3], src)
    elif case == 'no_tensors':
        src = str(tmp_path / 'meta_only.pth')
        torch.save(dict(meta=dict(iter=1), state_dict={}), src)
    elif case == 'date':
        extra = ['--date', '2026-11-29']
    else:
        extra = ['--keep-keys', 'meta']
    with pytest.raises(SystemExit) as exc:
        tool.main([src, str(tmp_path / 'x.pth'), *extra])
    assert exc.value.code == 1
    assert {
        'not_a_checkpoint': 'holds a list',
        'no_tensors': 'has no tensors under "state_dict"',
        'date': 'YYYYMMDD',
        'keep_keys': 'must include state_dict'
    }[case] in capsys.readouterr().err
    assert not (tmp_path / 'x.pth').exists()
