"""Deterministic geometry for evaluation: resize and centre crop.

The training crop is mmpretrain's ``RandomResizedCrop`` (``type='mmpretrain.RandomResizedCrop'``), which
works on this stack and draws from numpy's global RNG like ours would; it is not re-implemented here.
"""
from typing import Tuple

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from zerovl.registry import TRANSFORMS

# The names mmcv.imresize understands for each backend.
INTERPOLATIONS = {
    'pillow': ('nearest', 'bilinear', 'bicubic', 'box', 'lanczos', 'hamming'),
    'cv2': ('nearest', 'bilinear', 'bicubic', 'area', 'lanczos'),
}


def shorter_side_to(height: int, width: int, size: int) -> Tuple[int, int]:
    """(height, width) with the shorter side equal to ``size`` and the aspect ratio kept.

    The longer side is truncated, not rounded, as torchvision's ``Resize(int)`` does, so a resized
    image has the same shape as under the original code.
    """
    if height <= width:
        return size, int(size * width / height)
    return int(size * height / width), size


def centre_box(height: int, width: int, crop_h: int, crop_w: int) -> Tuple[int, int]:
    """(top, left) of a centred crop, rounded as torchvision's ``CenterCrop`` rounds it."""
    return int(round((height - crop_h) / 2.0)), int(round((width - crop_w) / 2.0))


@TRANSFORMS.register_module()
class ResizeImage(BaseTransform):
    """Resize ``img`` to ``size`` x ``size`` or, with ``keep_ratio``, its shorter side to ``size``.

    The square default is the original ZeroVL evaluation ``Resize((256, 256))``, which squashes the
    aspect ratio. ``backend='pillow'`` (default) matches that code exactly: torchvision resized PIL
    images, and PIL low-pass filters when shrinking, while OpenCV's cubic does not ('cv2' is faster
    and aliases fine detail of large images).
    """

    def __init__(self, size: int, keep_ratio: bool = False, interpolation: str = 'bicubic',
                 backend: str = 'pillow') -> None:
        if not isinstance(size, int) or size <= 0:
            raise ValueError(f'ResizeImage: size must be a positive int, got {size!r}')
        if backend not in INTERPOLATIONS:
            raise ValueError(f'ResizeImage: backend must be one of {tuple(INTERPOLATIONS)}, got {backend!r}')
        if interpolation not in INTERPOLATIONS[backend]:
            raise ValueError(f'ResizeImage: interpolation with backend {backend!r} must be one of '
                             f'{INTERPOLATIONS[backend]}, got {interpolation!r}')
        self.size = size
        self.keep_ratio = keep_ratio
        self.interpolation = interpolation
        self.backend = backend

    def transform(self, results: dict) -> dict:
        img = results['img']
        height, width = img.shape[:2]
        if self.keep_ratio:
            out_h, out_w = shorter_side_to(height, width, self.size)
        else:
            out_h, out_w = self.size, self.size
        if (out_h, out_w) != (height, width):
            img = mmcv.imresize(img, (out_w, out_h), interpolation=self.interpolation, backend=self.backend)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(size={self.size}, keep_ratio={self.keep_ratio}, '
                f'interpolation={self.interpolation!r}, backend={self.backend!r})')


@TRANSFORMS.register_module()
class CenterCrop(BaseTransform):
    """Crop the centre ``size`` x ``size`` of ``img``; the image must be at least that large."""

    def __init__(self, size: int) -> None:
        if not isinstance(size, int) or size <= 0:
            raise ValueError(f'CenterCrop: size must be a positive int, got {size!r}')
        self.size = size

    def transform(self, results: dict) -> dict:
        img: np.ndarray = results['img']
        height, width = img.shape[:2]
        if height < self.size or width < self.size:
            # torchvision would pad with black here; a padded evaluation image is almost surely a
            # pipeline mistake (crop before resize), so say so instead.
            raise ValueError(f'CenterCrop({self.size}): image {results.get("img_path", "")} is only '
                             f'{height}x{width} (HxW); resize it first (ResizeImage)')
        top, left = centre_box(height, width, self.size, self.size)
        results['img'] = img[top:top + self.size, left:left + self.size]
        results['img_shape'] = (self.size, self.size)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size})'
