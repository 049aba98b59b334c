# Copyright (c) mmselfemd contributors. All rights reserved.
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from torch.utils.data import DataLoader

from mmselfemd.registry import DATASETS

from .conftest import BAD, GOOD, SILENT_BAD
from .utils import CONFIG, file_logger, skipped_files


def test_two_workers_epoch_over_mixed_set(image_zoo, tmp_path):
    """The default pipeline over good files, bad files and duplicates.

    Bad: missing, empty, garbage, truncated JPEG and PNG, JPEGs with
    corrupt data that still end with their end-of-image marker (decoded
    without an error by OpenCV and Pillow), a 40x30 image. Duplicates: a
    link to a good file, the same file through a linked folder and a
    ``./`` path. Every bad file is named, no sample comes from one, and
    each good file is one entry.
    """
    root, _ = image_zoo
    link = tmp_path / 'link_to_coffee.png'
    link.symlink_to(osp.join(root, 'coffee.png'))
    folder_link = tmp_path / 'zoo_link'
    folder_link.symlink_to(root)
    duplicates = [str(link), str(folder_link / 'gray.jpg'), './astronaut.jpg']
    lst = tmp_path / 'mixed.txt'
    lst.write_text('\n'.join(GOOD + BAD + duplicates) + '\n')
    cfg = Config.fromfile(CONFIG)
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.update(data_root=root, ann_file=str(lst), data_prefix=dict(img=''))
    log_file = file_logger(tmp_path)
    dataset = DATASETS.build(ds_cfg)
    assert len(dataset) == len(GOOD) + len(BAD) == 17
    loader = DataLoader(
        dataset,
        batch_size=4,
        num_workers=2,
        collate_fn=default_collate,
        multiprocessing_context='fork',
        worker_init_fn=lambda i: torch.manual_seed(i))
    good = {osp.join(root, n) for n in GOOD}
    seen = 0
    for batch in loader:
        n = len(batch['data_samples'])
        seen += n
        # the default recipe: two 224-px views, no small views
        assert [tuple(v.shape) for v in batch['inputs']] == [
            (n, 3, 224, 224)
        ] * 2
        for sample in batch['data_samples']:
            assert sample.img_path in good
            assert sample.crop_boxes.shape == (2, 4)
    assert seen == 17
    # every bad file was skipped and named (maybe by both workers); no
    # good file was reported; the duplicates were dropped with a count
    named = skipped_files(log_file)
    assert set(named) == {osp.join(root, n) for n in BAD}
    assert len(set(named)) == 8
    assert {osp.join(root, n) for n in SILENT_BAD} <= set(named)
    with open(log_file) as f:
        assert 'dropped 3 duplicate entries' in f.read()
