"""RandomResizedCrop on uint8 arrays: the crop box drawn as today, the resize done by torch's uint8 kernel.

The current training crop is ``mmpretrain.RandomResizedCrop`` with the pillow backend (torchvision's
crop on a PIL image, as the original code did). On one core most of its time goes to PIL's resize of
the crop. ``FastRandomResizedCrop`` keeps everything that decides *what* is seen:

* the box: ``draw_crop_box`` makes the same numpy draws, in the same order, as mmpretrain's
  ``rand_crop_params`` (area fraction ~ U(crop_ratio_range), log aspect ratio ~ U(log range), sides
  rounded, offsets ~ U over the valid range, up to ``max_attempts`` tries, then the centre crop), so a
  seeded run crops the same boxes;
* the filter: antialiased bilinear (PIL's triangle filter widened by the shrink factor), computed by
  torch's uint8 channels-last kernel, which agrees with PIL to one grey level (rounding) at a fifth
  of the cost.
"""
import math
from typing import Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform

from zerovl.registry import TRANSFORMS

Box = Tuple[int, int, int, int]  # (top, left, height, width)


def centre_fallback(height: int, width: int, aspect_ratio_range: Sequence[float]) -> Box:
    """The whole image, or its centre cut to the nearest allowed aspect ratio, when no draw fitted."""
    low, high = min(aspect_ratio_range), max(aspect_ratio_range)
    crop_h, crop_w = height, width
    if width / height < low:
        crop_h = int(round(width / low))
    elif width / height > high:
        crop_w = int(round(height * high))
    return (height - crop_h) // 2, (width - crop_w) // 2, crop_h, crop_w


def draw_crop_box(height: int, width: int, crop_ratio_range: Sequence[float] = (0.6, 1.0),
                  aspect_ratio_range: Sequence[float] = (3. / 4., 4. / 3.), max_attempts: int = 10) -> Box:
    """(top, left, height, width) of a random crop covering ``crop_ratio_range`` of the image's area.

    numpy's global RNG, as every random transform here (seeded per DataLoader worker by mmengine);
    the draws and their order are mmpretrain's, so both crops give the same box for the same seed.
    """
    log_low, log_high = math.log(aspect_ratio_range[0]), math.log(aspect_ratio_range[1])
    for _ in range(max_attempts):
        area = np.random.uniform(*crop_ratio_range) * height * width
        aspect_ratio = math.exp(np.random.uniform(log_low, log_high))
        crop_w = int(round(math.sqrt(area * aspect_ratio)))
        crop_h = int(round(math.sqrt(area / aspect_ratio)))
        if 0 < crop_w <= width and 0 < crop_h <= height:
            top = np.random.randint(0, height - crop_h + 1)
            left = np.random.randint(0, width - crop_w + 1)
            return top, left, crop_h, crop_w
    return centre_fallback(height, width, aspect_ratio_range)


def resize_antialiased(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H, W, 3) uint8 -> (height, width, 3) uint8, antialiased bilinear as PIL's BILINEAR.

    torch's uint8 kernel works on channels-last images. The (H, W, 3) array viewed as (1, 3, H, W) is
    channels-last, but with a batch of one torch takes it as contiguous and allocates a contiguous
    output, to be repacked; giving the batch dimension the stride of the whole image makes the layout
    unambiguous (torchvision's resize does the same), so the result reads back as (height, width, 3)
    without a copy. A strided crop is made contiguous first: the kernel is slower on it.
    """
    img = np.ascontiguousarray(img)
    in_h, in_w = img.shape[:2]
    tensor = torch.from_numpy(img).as_strided((1, 3, in_h, in_w), (in_h * in_w * 3, 1, in_w * 3, 3))
    resized = F.interpolate(tensor, size=(height, width), mode='bilinear', antialias=True, align_corners=False)
    return np.ascontiguousarray(resized[0].permute(1, 2, 0).numpy())


@TRANSFORMS.register_module()
class FastRandomResizedCrop(BaseTransform):
    """Crop a random box of ``img`` and resize it to ``scale`` x ``scale`` (H, W, 3 uint8 RGB).

    Args:
        scale: output side (ZeroVL: 224), or (height, width).
        crop_ratio_range: range of the crop's area as a fraction of the image's (ZeroVL: 0.6-1).
        aspect_ratio_range: range of the crop's width / height (ZeroVL: 3/4-4/3).
        max_attempts: draws tried before falling back to the centre crop.
    """

    def __init__(self, scale=224, crop_ratio_range: Sequence[float] = (0.6, 1.0),
                 aspect_ratio_range: Sequence[float] = (3. / 4., 4. / 3.), max_attempts: int = 10) -> None:
        self.scale = (scale, scale) if isinstance(scale, int) else tuple(scale)
        if len(self.scale) != 2 or not all(isinstance(side, int) and side > 0 for side in self.scale):
            raise ValueError(f'FastRandomResizedCrop: scale must be a positive int or (height, width), got {scale!r}')
        for name, (low, high) in dict(crop_ratio_range=crop_ratio_range,
                                      aspect_ratio_range=aspect_ratio_range).items():
            if not 0 < low <= high:
                raise ValueError(f'FastRandomResizedCrop: {name} must be (low, high) with 0 < low <= high, '
                                 f'got {(low, high)}')
        self.crop_ratio_range = tuple(crop_ratio_range)
        self.aspect_ratio_range = tuple(aspect_ratio_range)
        self.max_attempts = max_attempts

    def transform(self, results: dict) -> dict:
        img = results['img']
        top, left, crop_h, crop_w = draw_crop_box(*img.shape[:2], self.crop_ratio_range,
                                                  self.aspect_ratio_range, self.max_attempts)
        img = resize_antialiased(img[top:top + crop_h, left:left + crop_w], *self.scale)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(scale={self.scale}, crop_ratio_range={self.crop_ratio_range}, '
                f'aspect_ratio_range={self.aspect_ratio_range}, max_attempts={self.max_attempts})')
