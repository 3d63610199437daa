"""AutoAugment (ImageNet policy, grey fill) with each operation run as one uint8 table or OpenCV call.

``AutoAugmentRGB`` runs mmpretrain's operations, which spend most of their time around the pixels:
``np.histogram`` per channel, float round trips, a BGR copy in and out. ``FastAutoAugment`` keeps what
decides the augmentation and replaces only the pixel work:

* the same sub-policies (``AutoAugmentRGB``'s: mmpretrain's table, ``hparams`` merged, one drawn
  uniformly per image) and the same operation objects, whose own ``random_disable`` /
  ``random_negative`` / ``random_magnitude`` make every draw, in the same order, from numpy's global
  RNG; a seeded run picks the same operations with the same magnitudes as ``AutoAugmentRGB``;
* the pixels from ``uint8_ops``, which compute what the mmcv functions compute (tests compare them
  operation by operation and whole policies under one seed).
"""
from math import ceil
from typing import Callable, Dict, Sequence, Union

import cv2
import numpy as np

from zerovl.registry import TRANSFORMS
from . import uint8_ops
from .auto_augment import GREY, AutoAugmentRGB, three_channel_fill

# mmcv's interpolation names for the geometric operations.
CV2_INTERPOLATION = {'nearest': cv2.INTER_NEAREST, 'bilinear': cv2.INTER_LINEAR, 'bicubic': cv2.INTER_CUBIC,
                     'area': cv2.INTER_AREA, 'lanczos': cv2.INTER_LANCZOS4}


def drawn(op, value):
    """The op's fixed magnitude, or one drawn from its magnitude range, as mmpretrain's operations do."""
    return value if value is not None else op.random_magnitude()


def signed(op, value):
    """``drawn``, then negated with the op's ``random_negative_prob``."""
    return op.random_negative(drawn(op, value))


def fill(op) -> tuple:
    return three_channel_fill(dict(pad_val=op.pad_val))['pad_val']


# Type name -> (op, img) -> img. Runs after ``random_disable`` has let the op fire; draws the rest.
OPERATIONS: Dict[str, Callable] = {
    'Posterize': lambda op, img: uint8_ops.posterize(img, ceil(drawn(op, op.bits))),
    'Solarize': lambda op, img: uint8_ops.solarize(img, drawn(op, op.thr)),
    'Invert': lambda op, img: uint8_ops.invert(img),
    'AutoContrast': lambda op, img: uint8_ops.auto_contrast(img),
    'Equalize': lambda op, img: uint8_ops.equalize(img),
    'ColorTransform': lambda op, img: uint8_ops.colour(img, 1 + signed(op, op.magnitude)),
    'Contrast': lambda op, img: uint8_ops.contrast(img, 1 + signed(op, op.magnitude)),
    'Sharpness': lambda op, img: uint8_ops.sharpness(img, 1 + signed(op, op.magnitude)),
    'Rotate': lambda op, img: uint8_ops.rotate(img, signed(op, op.angle), fill(op), CV2_INTERPOLATION[op.interpolation],
                                               op.center, op.scale),
    'Shear': lambda op, img: uint8_ops.shear(img, signed(op, op.magnitude), op.direction, fill(op),
                                             CV2_INTERPOLATION[op.interpolation]),
}


def check_supported(sub_policies) -> None:
    names = {type(op).__name__ for sub_policy in sub_policies for op in sub_policy}
    unsupported = sorted(names - set(OPERATIONS))
    if unsupported:
        raise ValueError(f'FastAutoAugment: no uint8 version of {unsupported}; supported: {sorted(OPERATIONS)} '
                         '(use AutoAugmentRGB for other policies)')


@TRANSFORMS.register_module()
class FastAutoAugment(AutoAugmentRGB):
    """Apply one uniformly drawn AutoAugment sub-policy to ``results['img']`` (H, W, 3 uint8 RGB).

    ``AutoAugmentRGB``'s arguments, sub-policies and draws (see the module docstring); only the
    operations' pixel work differs.

    Args:
        policies: ``'imagenet'`` (ZeroVL's policy) or a list of sub-policies of mmpretrain operation
            configs, each of a type in ``OPERATIONS``.
        hparams: arguments given to every operation that takes them; ``pad_val`` is the fill of Rotate
            and Shear (ZeroVL: grey 128).
    """

    def __init__(self, policies: Union[str, Sequence[Sequence[dict]]] = 'imagenet',
                 hparams: dict = dict(pad_val=GREY)) -> None:
        super().__init__(policies, hparams)
        check_supported(self.sub_policies)

    def transform(self, results: dict) -> dict:
        # numpy's global RNG throughout, in AutoAugmentRGB's order: the sub-policy, then per operation
        # whether it fires and, when it does, its sign or magnitude.
        img = results['img']
        for op in self.sub_policies[np.random.randint(len(self.sub_policies))]:
            if not op.random_disable():
                img = OPERATIONS[type(op).__name__](op, img)
        results['img'] = img
        return results
