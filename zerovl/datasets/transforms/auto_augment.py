"""AutoAugment (ImageNet policy, grey fill) on our RGB images, run with mmpretrain's operations.

ZeroVL's ``ImageNetPolicy`` (method doc §2.6) is the DeepVoltaire port of the AutoAugment paper's ImageNet
policy: 25 two-operation sub-policies, one drawn uniformly per image, fill grey 128. mmpretrain ships the
same table with the same magnitudes (``AUTOAUG_POLICIES['imagenet']``) and its operations work on
numpy images; this class reuses both. It does not use ``mmpretrain.AutoAugment`` itself, because in
mmpretrain 1.2.0 that class

* builds its operations from the table *before* merging ``hparams`` into it, so ``pad_val`` never
  reaches them and Rotate keeps its int default 128, which ``mmcv.imrotate`` hands to
  ``cv2.warpAffine`` unchanged: the corners are filled (128, 0, 0) instead of grey;
* runs Color and Contrast through ``mmcv.adjust_color`` / ``adjust_contrast``, which take the grey
  image with BGR weights; on our RGB images R and B would swap weights (PIL, used by the original,
  weighs RGB as 0.299 / 0.587 / 0.114).

All other operations (Posterize, Solarize, Equalize, AutoContrast, Invert, Sharpness, Rotate, Shear) act
per channel or geometrically and do not care about channel order.
"""
from numbers import Number
from typing import List, Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform

from zerovl.registry import TRANSFORMS

GREY = (128, 128, 128)


def three_channel_fill(hparams: dict) -> dict:
    """``hparams`` with an int ``pad_val`` spelt out per channel (an int fills only channel 0 in Rotate)."""
    hparams = dict(hparams)
    if isinstance(hparams.get('pad_val'), Number):
        hparams['pad_val'] = (hparams['pad_val'],) * 3
    return hparams


def build_sub_policies(policies: Union[str, Sequence[Sequence[dict]]], hparams: dict) -> List[list]:
    """mmpretrain operations for each sub-policy, with ``hparams`` merged into those that take them."""
    # Imported here: importing mmpretrain takes seconds, and only training pipelines need it.
    from mmpretrain.datasets.transforms.auto_augment import AUTOAUG_POLICIES, merge_hparams
    from mmpretrain.registry import TRANSFORMS as MMPRETRAIN_TRANSFORMS

    if isinstance(policies, str):
        if policies not in AUTOAUG_POLICIES:
            raise ValueError(f'AutoAugmentRGB: unknown policy {policies!r}, choose from {list(AUTOAUG_POLICIES)}')
        policies = AUTOAUG_POLICIES[policies]
    sub_policies = []
    for sub_policy in policies:
        ops = []
        for op_cfg in sub_policy:
            args = merge_hparams(op_cfg, hparams)
            # Instantiated from mmpretrain's registry directly: a registry build would look the bare
            # names ('Rotate', ...) up in the default scope, which is 'zerovl' in our runs.
            op_class = MMPRETRAIN_TRANSFORMS.get(args.pop('type'))
            ops.append(op_class(**args))
        sub_policies.append(ops)
    return sub_policies


@TRANSFORMS.register_module()
class AutoAugmentRGB(BaseTransform):
    """Apply one uniformly drawn AutoAugment sub-policy to ``results['img']`` (H, W, 3 uint8 RGB).

    Args:
        policies: ``'imagenet'`` (mmpretrain's table, ZeroVL's policy) or a list of sub-policies, each a
            list of mmpretrain operation configs (``dict(type='Rotate', angle=30., prob=0.6)``).
        hparams: arguments given to every operation that takes them and does not set them itself;
            ``pad_val`` is the fill of Rotate and Shear (ZeroVL: grey 128).
    """

    def __init__(self, policies: Union[str, Sequence[Sequence[dict]]] = 'imagenet',
                 hparams: dict = dict(pad_val=GREY)) -> None:
        self.policies = policies
        self.hparams = three_channel_fill(hparams)
        self.sub_policies = build_sub_policies(policies, self.hparams)
        if not self.sub_policies:
            raise ValueError(f'{type(self).__name__}: no sub-policies given')

    def transform(self, results: dict) -> dict:
        # numpy's global RNG, seeded per DataLoader worker by mmengine; so are the operations' own draws.
        sub_policy = self.sub_policies[np.random.randint(len(self.sub_policies))]
        # mmcv's colour operations expect BGR: run the sub-policy on a BGR copy and turn the result back.
        results['img'] = np.ascontiguousarray(results['img'][..., ::-1])
        for op in sub_policy:
            results = op(results)
        results['img'] = np.ascontiguousarray(results['img'][..., ::-1])
        return results

    def __repr__(self) -> str:
        policies = self.policies if isinstance(self.policies, str) else f'<{len(self.sub_policies)} sub-policies>'
        return f'{type(self).__name__}(policies={policies!r}, hparams={self.hparams})'
