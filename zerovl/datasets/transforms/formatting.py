"""Pack a processed sample into the ``inputs`` / ``data_samples`` pair that the model receives."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from zerovl.registry import TRANSFORMS

META_KEYS = ('image_id', 'caption_id', 'dataset_name', 'sample_idx')


def image_to_tensor(img: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 RGB array -> contiguous (3, H, W) uint8 tensor.

    Kept uint8: normalisation happens once per batch on the device (the data preprocessor), which
    moves a quarter of the bytes a float tensor would and keeps the mean/std in one place.
    """
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f'expected an (H, W, 3) image, got shape {img.shape}')
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


@TRANSFORMS.register_module()
class PackImageTextInputs(BaseTransform):
    """``{'inputs': {images, input_ids, attention_mask}, 'data_samples': {meta keys present}}``.

    Args:
        meta_keys: keys of ``results`` copied into ``data_samples`` when present; the ids let
            retrieval evaluation group the captions of one image, ``dataset_name`` tells sources apart.
    """

    def __init__(self, meta_keys: Sequence[str] = META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        inputs = dict(
            images=image_to_tensor(results['img']),
            input_ids=torch.as_tensor(results['input_ids'], dtype=torch.long),
            attention_mask=torch.as_tensor(results['attention_mask'], dtype=torch.long))
        data_samples = {key: results[key] for key in self.meta_keys if key in results}
        return dict(inputs=inputs, data_samples=data_samples)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
