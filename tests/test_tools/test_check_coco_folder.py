# Copyright (c) mmselfemd contributors. All rights reserved.
"""tools/misc/check_coco_folder.py: the printed config reads what it saw."""
from mmengine.config import Config

from .conftest import run_tool


def _printed_config(out: str, tmp_path) -> Config:
    marker = '# dataset config for the '
    assert marker in out, out
    text = out[out.index(marker):]
    path = tmp_path / 'printed_cfg.py'
    path.write_text(text)
    return Config.fromfile(str(path))


def test_folder_decode_print_config(image_dir, tmp_path):
    """--folder --decode --print-config prints a config that loads the
    same images."""
    from mmselfemd.datasets import CocoUnlabeledDataset
    proc = run_tool('misc/check_coco_folder.py', image_dir, '--folder',
                    '--decode', '--print-config')
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert 'unreadable: 0 of 8' in out
    # stdout is a pipe: whole progress lines, not ProgressBar redraws
    assert '\r' not in out
    assert 'decode: 8/8 (100%)' in out
    assert '# dataset config for the image folder:' in out
    cfg = _printed_config(out, tmp_path)
    dataset_cfg = cfg.train_dataloader.dataset.to_dict()
    assert dataset_cfg.pop('type') == 'CocoUnlabeledDataset'
    dataset = CocoUnlabeledDataset(**dataset_cfg, check_files=0)
    paths = sorted(
        dataset.get_data_info(i)['img_path'] for i in range(len(dataset)))
    assert [p.rsplit('/', 1)[-1] for p in paths] == [
        f'{i}.png' for i in range(8)
    ]
