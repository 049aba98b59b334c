# Copyright (c) mmselfemd contributors. All rights reserved.
"""Bad input to tools/test.py, the converters and train.py's options.

Like test_bad_input.py: each case runs the tool as a user would and checks
that it exits 1 with one ``<tool>: error: ...`` paragraph and no traceback,
and that ``--debug`` brings the traceback back.
"""
import os.path as osp

import pytest
from test_tools.conftest import REPO, run_tool

DEMO_CFG = osp.join(REPO, 'configs', 'selfemd',
                    'selfemd_resnet18_1xb32-coslr-100it_demo.py')
PRETRAIN_CFG = osp.join(REPO, 'configs', 'selfemd',
                        'selfemd_resnet50_8xb32-coslr-800e_coco.py')


def _paragraph(tool: str, *args: str) -> str:
    """Run a tool that must fail; return its one-paragraph error."""
    proc = run_tool(tool, *args)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f'tools/{tool}: error: '), proc.stderr[-3000:]
    assert last.endswith('Run with --debug for the full traceback.')
    return last


def _traceback(tool: str, *args: str) -> str:
    proc = run_tool(tool, *args, '--debug')
    assert proc.returncode == 1
    assert 'Traceback (most recent call last)' in proc.stderr
    return proc.stderr


def test_train_auto_scale_lr_without_base_batch_size(tmp_path):
    """The demo config has no ``auto_scale_lr``."""
    msg = _paragraph('train.py', DEMO_CFG, '--auto-scale-lr', '--work-dir',
                     str(tmp_path))
    assert '--auto-scale-lr needs `auto_scale_lr = dict(base_batch_size=N)`' \
        in msg
    assert DEMO_CFG in msg


def test_test_py_on_pretraining_config(tmp_path):
    args = (PRETRAIN_CFG, str(tmp_path / 'epoch_800.pth'), '--work-dir',
            str(tmp_path))
    msg = _paragraph('test.py', *args)
    assert 'ValueError' in msg and PRETRAIN_CFG in msg
    assert 'pretraining configs cannot be tested' in msg
    assert 'configs/benchmarks/mmdetection/' in msg
    assert 'pretraining configs cannot be tested' in _traceback(
        'test.py', *args)


@pytest.mark.parametrize('tool', [
    'extract_backbone_weights.py', 'selfemd2torchvision.py',
    'selfemd2detectron2.py'
])
def test_converter_without_backbone(tool, no_backbone_checkpoint,
                                    tmp_path):
    dst = str(tmp_path / ('out.pkl' if 'detectron2' in tool else 'out.pth'))
    msg = _paragraph(f'model_converters/{tool}', no_backbone_checkpoint, dst)
    assert 'ValueError: No online backbone weights' in msg
    assert no_backbone_checkpoint in msg and "['head']" in msg
    assert not osp.exists(dst)


def test_converter_on_a_file_that_is_no_checkpoint(tmp_path):
    junk = tmp_path / 'notes.pth'
    junk.write_text('hello\n')
    msg = _paragraph('model_converters/extract_backbone_weights.py',
                     str(junk), str(tmp_path / 'out.pth'))
    assert f'cannot read "{junk}" as a checkpoint' in msg
    assert 'torch.save' in msg


def test_converter_bad_destination_and_debug(no_backbone_checkpoint,
                                            tmp_path):
    args = (no_backbone_checkpoint, str(tmp_path / 'out.pth'))
    msg = _paragraph('model_converters/selfemd2detectron2.py', *args)
    assert 'DST must end with .pkl' in msg
    assert 'DST must end with .pkl' in _traceback(
        'model_converters/selfemd2detectron2.py', *args)


def test_run_cli_reads_the_parsed_debug_flag(capsys):
    """--debug comes from the parser, not from a search of sys.argv: a
    path that happens to be called '--debug' (after '--') does not turn
    the report into a traceback, and the flag does."""
    import argparse

    from mmselfemd.utils.safe_load import UnsafeCheckpointError
    from mmselfemd.utils.user_errors import add_debug_argument, run_cli
    parser = argparse.ArgumentParser()
    parser.add_argument('path')
    add_debug_argument(parser)

    def fail():
        raise UnsafeCheckpointError('Refused to load checkpoint "x"')

    args = parser.parse_args(['--', '--debug'])
    assert args.path == '--debug' and not args.debug
    with pytest.raises(SystemExit) as code:
        run_cli(fail, 'tools/x.py', args.debug)
    assert code.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith('tools/x.py: error: UnsafeCheckpointError: '
                          'Refused to load checkpoint "x"')
    args = parser.parse_args(['p', '--debug'])
    with pytest.raises(UnsafeCheckpointError):
        run_cli(fail, 'tools/x.py', args.debug)
    # a bug (not a user error) keeps its traceback either way
    with pytest.raises(ZeroDivisionError):
        run_cli(lambda: 1 / 0, 'tools/x.py', False)
