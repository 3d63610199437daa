"""Pack a processed sample into the ``inputs`` / ``data_samples`` pair that the model receives.

Image-text samples (``PackImageTextInputs``) and image-label samples (``PackImageLabel``) share one
layout, ``inputs['images']`` as a uint8 (3, H, W) tensor and a metadata dict, so that
``zerovl.image_text_collate`` and ``ImageTextDataPreprocessor`` batch and normalise both unchanged.
"""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from zerovl.registry import TRANSFORMS

META_KEYS = ('image_id', 'caption_id', 'dataset_name', 'sample_idx')
# img_path lets a wrong prediction be traced back to its file; absent (and skipped) for in-memory sets.
CLASSIFICATION_META_KEYS = ('dataset_name', 'sample_idx', 'img_path')


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


def as_label(value, where: str) -> int:
    """A class index as a plain int: collated metadata stays a list of per-sample values, so a 0-d
    tensor or numpy scalar would reach the model and the metric as is instead of as a number."""
    if isinstance(value, (torch.Tensor, np.ndarray, np.generic)) and np.ndim(value) == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f'PackImageLabel: gt_label of {where} must be an integer class index, got {value!r}')
    return value


@TRANSFORMS.register_module()
class PackImageLabel(BaseTransform):
    """``{'inputs': {'images': uint8 (3, H, W)}, 'data_samples': {'gt_label': int, meta keys present}}``.

    The classification counterpart of :class:`PackImageTextInputs`, for linear probing and zero-shot
    classification. ``gt_label`` is a plain int in the metadata dict (not a tensor in ``inputs``):
    the models read the labels from ``data_samples``, and ``ClassificationAccuracy`` reads them from
    the predictions, which copy the data samples.

    Args:
        meta_keys: keys of ``results`` copied into ``data_samples`` when present; ``dataset_name``
            groups the accuracy per dataset.
    """

    def __init__(self, meta_keys: Sequence[str] = CLASSIFICATION_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        if 'gt_label' not in results:
            raise KeyError(f"PackImageLabel: sample {results.get('img_path', results.get('sample_idx'))} "
                           'has no gt_label (is the dataset a classification dataset?)')
        where = results.get('img_path', f"sample {results.get('sample_idx')}")
        data_samples = dict(gt_label=as_label(results['gt_label'], where))
        data_samples.update({key: results[key] for key in self.meta_keys if key in results})
        return dict(inputs=dict(images=image_to_tensor(results['img'])), data_samples=data_samples)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
