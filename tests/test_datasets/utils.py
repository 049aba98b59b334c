# Copyright (c) mmselfemd contributors. All rights reserved.
import os.path as osp
import re
import uuid

from mmengine.logging import MMLogger

#: The dataset config of the pretraining recipe (pipelines, dataloader).
CONFIG = osp.join(
    osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets',
    'coco_selfemd.py')
SKIP_RE = re.compile(r'skipped (?:unreadable|too small) image "([^"]+)"')


def file_logger(tmp_path):
    """Make a fresh current MMLogger writing to a file; return the path.

    Forked DataLoader workers inherit the handler, so their warnings land
    in the same file.
    """
    log_file = str(tmp_path / f'log_{uuid.uuid4().hex}.txt')
    MMLogger.get_instance(
        f'test_{uuid.uuid4().hex}', log_file=log_file, log_level='INFO')
    return log_file


def skipped_files(log_file):
    """All file names reported as skipped (with repeats) in the log."""
    with open(log_file) as f:
        return SKIP_RE.findall(f.read())
