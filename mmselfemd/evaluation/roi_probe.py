# Copyright (c) mmselfemd contributors. All rights reserved.
"""A cheap detection probe: a linear classifier on frozen RoI features."""
import contextlib
import io
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn as nn
from torchvision.ops import box_iou, roi_align

from mmselfemd.models.utils.node_cosine import node_cosine

# ImageNet mean/std on 0-255 RGB, as in the pretraining data preprocessor
_MEAN = (123.675, 116.28, 103.53)
_STD = (58.395, 57.12, 57.375)


def _load_split(ann_file: str, img_prefix: str, max_images: Optional[int]
                ) -> List[Tuple[str, np.ndarray, np.ndarray]]:
    """(image path, boxes xyxy, 0-based labels) of a COCO box file, read
    with pycocotools; crowd boxes and images without boxes are left out."""
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'probe annotation file "{ann_file}" not '
                                'found')
    # imported here: pretraining (which imports this module through the
    # registry) must not need pycocotools
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):  # COCO() prints
        coco = COCO(ann_file)
    for key in ('images', 'annotations', 'categories'):
        if key not in coco.dataset:
            raise KeyError(f'probe annotation file "{ann_file}" has no '
                           f'"{key}" list (a COCO box file is expected)')
    cat_index = {c: i for i, c in enumerate(sorted(coco.getCatIds()))}
    items = []
    for img_id in sorted(coco.getImgIds()):
        objs = [a for a in coco.imgToAnns[img_id] if not a.get('iscrowd')]
        if not objs:
            continue
        x, y, w, h = np.array([a['bbox'] for a in objs], np.float32).T
        boxes = np.stack([x, y, x + w, y + h], axis=1)
        labels = np.array([cat_index[a['category_id']] for a in objs],
                          np.int64)
        img = coco.loadImgs(img_id)[0]
        items.append((osp.join(img_prefix, img['file_name']), boxes, labels))
        if max_images is not None and len(items) == max_images:
            break
    if not items:
        raise ValueError(f'probe annotation file "{ann_file}" has no image '
                         'with boxes')
    return items


class RoIProbe:
    """Linear probe of a frozen backbone on the RoIs of labelled boxes.

    A cheap stand-in for detection fine-tuning, used to rank pretrained
    backbones without training a detector: the backbone is frozen (eval
    mode), every image is resized so that its longer side is ``img_scale``,
    the C4 and C5 maps (``out_indices``) are RoI-aligned to ``roi_size`` ×
    ``roi_size`` at each labelled box and at sampled background boxes, and a
    multinomial logistic regression (standardised features, L2 penalty,
    L-BFGS) is fitted on the train split and scored on the val split.

    The background RoIs make it a detection probe rather than a
    classification probe: for every object one *shifted* box (IoU with
    every object in [``neg_iou_low``, ``neg_iou_high``), i.e. a proposal
    that Faster R-CNN would label background) plus ``num_random_neg``
    random boxes per image (IoU < ``neg_iou_low``). Telling an object from
    a box half off it needs features that know *where* things are.

    Metrics: ``bacc`` (balanced accuracy, the mean of the per-class
    recalls over the object classes and background; the headline), ``acc``
    (plain accuracy) and ``fg_acc`` (accuracy on the object RoIs only);
    and one diagnostic, ``node_cos``: how alike the locations of the last
    map are (a map whose every location carries the same vector cannot
    say where anything is).

    Args:
        train_ann_file (str): COCO box file of the probe's train split.
        train_img_prefix (str): Folder of its images.
        val_ann_file (str): COCO box file of the probe's val split.
        val_img_prefix (str): Folder of its images.
        img_scale (int): Longer image side after resizing. Defaults to 224.
        out_indices (Sequence[int]): Backbone stages to pool (ResNet: 2 is
            C4, stride 16; 3 is C5, stride 32). Defaults to (2, 3).
        roi_size (int): RoIAlign output side. Defaults to 2.
        num_random_neg (int): Random background boxes per image.
            Defaults to 2.
        neg_iou_low (float): Random negatives have IoU below this with
            every object. Defaults to 0.1.
        neg_iou_high (float): Shifted negatives have IoU in
            [neg_iou_low, neg_iou_high). Defaults to 0.4.
        weight_decay (float): L2 penalty of the classifier. Defaults to
            1e-3.
        max_iter (int): L-BFGS iterations. Defaults to 200.
        max_images (int, optional): Use at most this many images per split.
            Defaults to None (all).
        batch_size (int): Images per backbone forward. Defaults to 16.
        seed (int): Seed of the background box sampling (the boxes are the
            same for every backbone probed). Defaults to 0.
    """

    def __init__(self,
                 train_ann_file: str,
                 train_img_prefix: str,
                 val_ann_file: str,
                 val_img_prefix: str,
                 img_scale: int = 224,
                 out_indices: Sequence[int] = (2, 3),
                 roi_size: int = 2,
                 num_random_neg: int = 2,
                 neg_iou_low: float = 0.1,
                 neg_iou_high: float = 0.4,
                 weight_decay: float = 1e-3,
                 max_iter: int = 200,
                 max_images: Optional[int] = None,
                 batch_size: int = 16,
                 seed: int = 0) -> None:
        self.img_scale = img_scale
        self.out_indices = tuple(out_indices)
        self.roi_size = roi_size
        self.num_random_neg = num_random_neg
        self.neg_iou_low = neg_iou_low
        self.neg_iou_high = neg_iou_high
        self.weight_decay = weight_decay
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.seed = seed
        self.splits = {
            'train': _load_split(train_ann_file, train_img_prefix,
                                 max_images),
            'val': _load_split(val_ann_file, val_img_prefix, max_images),
        }
        self.num_classes = 1 + max(
            int(labels.max()) for items in self.splits.values()
            for _, _, labels in items)
        self._cache: Dict[str, tuple] = {}

    # ------------------------------------------------------------- data --
    def _sample_negatives(self, rng: np.random.RandomState, boxes: np.ndarray,
                          width: int, height: int) -> np.ndarray:
        """Shifted and random background boxes of one image (xyxy)."""
        gt = torch.from_numpy(boxes)
        negs = []
        for x1, y1, x2, y2 in boxes:
            w, h = x2 - x1, y2 - y1
            for _ in range(20):  # shifted box: a near-miss proposal
                dx, dy = rng.uniform(-0.8, 0.8, 2) * (w, h)
                cand = np.array([x1 + dx, y1 + dy, x2 + dx, y2 + dy],
                                np.float32)
                cand[[0, 2]] = cand[[0, 2]].clip(0, width)
                cand[[1, 3]] = cand[[1, 3]].clip(0, height)
                if cand[2] - cand[0] < 4 or cand[3] - cand[1] < 4:
                    continue
                iou = box_iou(torch.from_numpy(cand[None]), gt).max().item()
                if self.neg_iou_low <= iou < self.neg_iou_high:
                    negs.append(cand)
                    break
        added, tries = 0, 0
        while added < self.num_random_neg and tries < 50:
            tries += 1
            side = rng.uniform(0.15, 0.5) * min(width, height)
            x = rng.uniform(0, width - side)
            y = rng.uniform(0, height - side)
            cand = np.array([x, y, x + side, y + side], np.float32)
            iou = box_iou(torch.from_numpy(cand[None]), gt).max().item()
            if iou < self.neg_iou_low:
                negs.append(cand)
                added += 1
        return np.array(negs, np.float32).reshape(-1, 4)

    def _prepare(self, split: str) -> tuple:
        """Resized images (uint8 RGB), RoIs and labels of a split; cached,
        so every backbone sees the same boxes."""
        if split in self._cache:
            return self._cache[split]
        rng = np.random.RandomState(self.seed + (split == 'val'))
        images, rois, labels = [], [], []
        background = self.num_classes  # the index after the objects
        for idx, (path, boxes, cls) in enumerate(self.splits[split]):
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            if img is None:
                raise FileNotFoundError(f'probe image "{path}" could not be '
                                        'read')
            h, w = img.shape[:2]
            negs = self._sample_negatives(rng, boxes, w, h)
            scale = self.img_scale / max(h, w)
            img = cv2.resize(img, (round(w * scale), round(h * scale)),
                             interpolation=cv2.INTER_AREA)
            images.append(img[..., ::-1].copy())
            all_boxes = np.concatenate([boxes, negs]) * scale
            rois.append(
                np.concatenate([np.full((len(all_boxes), 1), idx),
                                all_boxes], 1).astype(np.float32))
            labels.append(
                np.concatenate([cls, np.full(len(negs), background)]))
        out = (images, torch.from_numpy(np.concatenate(rois)),
               torch.from_numpy(np.concatenate(labels)))
        self._cache[split] = out
        return out

    @property
    def num_outputs(self) -> int:
        """Number of classifier outputs: object classes + background."""
        return self.num_classes + 1

    # --------------------------------------------------------- features --
    @torch.no_grad()
    def extract(self, backbone: nn.Module, split: str
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """RoI features and labels of one split, and how alike the
        locations of each image's last map are.

        Args:
            backbone (nn.Module): A ResNet whose ``forward`` returns the
                stages listed in its ``out_indices`` attribute (mmpretrain
                and mmdet ResNets); it is run in eval mode and restored.
            split (str): ``'train'`` or ``'val'``.

        Returns:
            tuple[Tensor, Tensor, Tensor]: (R, D) features, (R,) labels and,
            per image, the mean cosine similarity between two different
            locations of the last stage's map (1: every location carries
            the same vector, i.e. the map has lost its spatial layout).
        """
        images, rois, labels = self._prepare(split)
        device = next(backbone.parameters()).device
        was_training = backbone.training
        old_indices = getattr(backbone, 'out_indices', None)
        if old_indices is None:
            raise TypeError(f'{type(backbone).__name__} has no out_indices; '
                            'the probe needs a ResNet-like backbone')
        backbone.eval()
        backbone.out_indices = self.out_indices
        mean = torch.tensor(_MEAN, device=device).view(1, 3, 1, 1)
        std = torch.tensor(_STD, device=device).view(1, 3, 1, 1)
        feats, node_cos = [], []
        try:
            for start in range(0, len(images), self.batch_size):
                batch = images[start:start + self.batch_size]
                hmax = max(im.shape[0] for im in batch)
                wmax = max(im.shape[1] for im in batch)
                x = torch.zeros(len(batch), 3, hmax, wmax)
                for i, im in enumerate(batch):
                    x[i, :, :im.shape[0], :im.shape[1]] = torch.from_numpy(
                        im).permute(2, 0, 1).float()
                x = ((x.to(device) - mean) / std)
                outs = backbone(x)
                sel = (rois[:, 0] >= start) & (rois[:, 0] <
                                               start + len(batch))
                r = rois[sel].clone().to(device)
                r[:, 0] -= start
                per_level = []
                for fmap in outs:
                    stride = x.shape[-1] / fmap.shape[-1]
                    pooled = roi_align(
                        fmap.float(), r, self.roi_size,
                        spatial_scale=1.0 / stride, sampling_ratio=2,
                        aligned=True)
                    per_level.append(pooled.flatten(1))
                feats.append(torch.cat(per_level, 1).cpu())
                last = outs[-1].float()
                stride = x.shape[-1] / last.shape[-1]
                for i, im in enumerate(batch):  # valid (unpadded) region
                    h = max(1, round(im.shape[0] / stride))
                    w = max(1, round(im.shape[1] / stride))
                    node_cos.append(
                        node_cosine(last[i, :, :h, :w]).cpu())
        finally:
            backbone.out_indices = old_indices
            backbone.train(was_training)
        return torch.cat(feats), labels, torch.stack(node_cos)

    # ------------------------------------------------------- classifier --
    def fit_score(self, x_train: torch.Tensor, y_train: torch.Tensor,
                  x_val: torch.Tensor,
                  y_val: torch.Tensor) -> Dict[str, float]:
        """Fit the linear classifier on train features, score on val.

        Args:
            x_train (Tensor): (R, D) train features.
            y_train (Tensor): (R,) train labels.
            x_val (Tensor): (R', D) val features.
            y_val (Tensor): (R',) val labels.

        Returns:
            dict[str, float]: ``bacc``, ``acc``, ``fg_acc``, in [0, 1].
        """
        x_train = x_train.double()
        x_val = x_val.double()
        mu = x_train.mean(0)
        sd = x_train.std(0).clamp_min(1e-6)
        x_train = (x_train - mu) / sd
        x_val = (x_val - mu) / sd
        k = self.num_outputs
        torch.manual_seed(self.seed)
        weight = torch.zeros(x_train.shape[1], k, dtype=torch.float64,
                             requires_grad=True)
        bias = torch.zeros(k, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([weight, bias], lr=1, max_iter=self.max_iter,
                                history_size=20,
                                line_search_fn='strong_wolfe')

        def closure():
            opt.zero_grad()
            loss = nn.functional.cross_entropy(x_train @ weight + bias,
                                               y_train)
            loss = loss + self.weight_decay * weight.pow(2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        with torch.no_grad():
            pred = (x_val @ weight + bias).argmax(1)
        correct = (pred == y_val).double()
        recalls = [
            correct[y_val == c].mean().item() for c in range(k)
            if bool((y_val == c).any())
        ]
        fg = y_val < k - 1
        return dict(
            bacc=float(np.mean(recalls)),
            acc=correct.mean().item(),
            fg_acc=correct[fg].mean().item())

    def evaluate(self, backbone: nn.Module) -> Dict[str, float]:
        """Probe a backbone: extract both splits, fit, score.

        Args:
            backbone (nn.Module): See :meth:`extract`.

        Returns:
            dict[str, float]: ``bacc``, ``acc``, ``fg_acc`` (val split),
            ``node_cos`` (mean cosine between two locations of an image's
            last map, averaged over the val images: near 1 means a
            spatially collapsed map), ``num_train_rois`` and
            ``num_val_rois``.
        """
        x_train, y_train, _ = self.extract(backbone, 'train')
        x_val, y_val, node_cos = self.extract(backbone, 'val')
        scores = self.fit_score(x_train, y_train, x_val, y_val)
        scores.update(node_cos=node_cos.mean().item(),
                      num_train_rois=len(y_train), num_val_rois=len(y_val))
        return scores
