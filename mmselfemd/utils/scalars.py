# Copyright (c) mmselfemd contributors. All rights reserved.
"""Read the scalars that mmengine's visualizer logs (``scalars.json``)."""
import json
import os
import os.path as osp
from typing import List


def find_scalars_file(path: str) -> str:
    """The ``scalars.json`` of a run.

    Args:
        path (str): A ``scalars.json`` file, a run folder
            (``<timestamp>/`` holding ``vis_data/scalars.json``) or a work
            dir holding run folders (the newest run is taken: mmengine names
            them by start time).

    Returns:
        str: The path of the file.

    Raises:
        FileNotFoundError: If no ``scalars.json`` is found.
    """
    if osp.isfile(path):
        return path
    direct = osp.join(path, 'vis_data', 'scalars.json')
    if osp.isfile(direct):
        return direct
    if osp.isdir(path):
        runs = sorted(
            d for d in os.listdir(path)
            if osp.isfile(osp.join(path, d, 'vis_data', 'scalars.json')))
        if runs:
            return osp.join(path, runs[-1], 'vis_data', 'scalars.json')
    raise FileNotFoundError(
        f'no scalars.json at "{path}" (expected a scalars.json file, a run '
        'folder with vis_data/scalars.json, or a work dir holding run '
        'folders)')


def load_scalars(path: str) -> List[dict]:
    """The records of a run's ``scalars.json``, one dict per line.

    Args:
        path (str): See :func:`find_scalars_file`.

    Returns:
        list[dict]: The records in file order.
    """
    path = find_scalars_file(path)
    records = []
    with open(path) as f:
        for num, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}, line {num}: not JSON ({e})') from e
    return records
