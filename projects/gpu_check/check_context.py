# Copyright (c) mmselfemd contributors. All rights reserved.
"""What the sections of the GPU check share."""
import argparse
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Tuple

from projects.benchmarks import project_path

from .check_settings import SETTINGS

# COCO-size JPEGs of the offline bundle
# (projects/gpu_check/tools/make_gpu_bundle.sh)
BUNDLE_IMAGES = project_path('.gpu_bundle', 'images')


class CheckContext:
    """What the sections share: arguments, device, scratch folder, results
    of earlier sections.

    Args:
        args (argparse.Namespace): The check's arguments; the sections read
            ``device`` (``'auto'``, ``'cuda'``, ``'cpu'``), ``tiny``
            (toy sizes), ``images`` (folder of JPEGs or None) and
            ``workers`` (dataloader workers or None).
        scratch (str): Folder for work dirs, configs and images.
        blocked (list[str]): Modules made unimportable
            (:func:`block_modules`).
    """

    def __init__(self, args: argparse.Namespace, scratch: str,
                 blocked: List[str]) -> None:
        self.args = args
        self.scratch = scratch
        self.blocked = blocked
        self.size = SETTINGS['tiny' if args.tiny else 'full']
        self.results: Dict[str, dict] = {}
        self._device = None

    @staticmethod
    def log(msg: str) -> None:
        """Print a progress line, time-stamped, at once.

        Args:
            msg (str): The message.
        """
        print(f'[gpu_check {time.strftime("%H:%M:%S")}] {msg}', flush=True)

    @property
    def device(self):
        """torch.device: The device; a clear error if CUDA is missing."""
        if self._device is None:
            import torch
            want = self.args.device
            if want == 'auto':
                want = 'cuda' if torch.cuda.is_available() else 'cpu'
            if want.startswith('cuda') and not torch.cuda.is_available():
                raise RuntimeError(
                    f'--device {want}: CUDA is not available to torch '
                    f'{torch.__version__} (built for CUDA '
                    f'{torch.version.cuda}); check the driver with '
                    'nvidia-smi, or rehearse with --device cpu --tiny')
            self._device = torch.device(want)
        return self._device

    @property
    def cuda(self) -> bool:
        """bool: Whether the device is a CUDA device."""
        return self.device.type == 'cuda'

    @property
    def judged(self) -> bool:
        """bool: Whether targets are judged: a full run on CUDA."""
        return not self.args.tiny and self._device is not None and self.cuda

    def pin(self, batch: dict) -> dict:
        """The batch in pinned host memory on CUDA (as the dataloader's
        ``pin_memory``); unchanged otherwise.

        Args:
            batch (dict): ``dict(inputs=[...], data_samples=[...])``.

        Returns:
            dict: The batch.
        """
        if self.cuda:
            batch = dict(batch)
            batch['inputs'] = [v.pin_memory() for v in batch['inputs']]
        return batch

    def best_amp_setting(self) -> Tuple[str, bool]:
        """(dtype, channels_last) of the fastest AMP step of the step
        section, else a default for the device.

        Returns:
            tuple[str, bool]: The autocast dtype and the memory format.
        """
        best = self.results.get('step', {}).get('result', {}).get(
            'best_amp')
        if best:
            return best['dtype'], best['channels_last']
        return ('float16', True) if self.cuda else ('bfloat16', False)

    def images_dir(self, num: Optional[int] = None) -> str:
        """COCO-size JPEGs: ``--images``, the bundle's, or generated.

        Args:
            num (int, optional): How many to generate when there are none
                (default: the data section's size).

        Returns:
            str: The folder.
        """
        for folder in (self.args.images, BUNDLE_IMAGES):
            if folder and osp.isdir(folder) and any(
                    f.lower().endswith('.jpg') for f in os.listdir(folder)):
                return folder
        from projects.benchmarks import make_coco_size_jpegs
        folder = osp.join(self.scratch, 'images')
        if not osp.isdir(folder):
            make_coco_size_jpegs(folder, num or self.size['data']['images'])
        return folder
