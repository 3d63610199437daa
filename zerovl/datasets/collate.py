"""Collate packed image-text samples into one batch: tensors stacked, per-sample metadata listed."""
from typing import Dict, List, Sequence

import torch

from zerovl.registry import FUNCTIONS


def stack_same_shape(key: str, tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """``torch.stack`` that, when shapes differ, names the key and which samples have which shape."""
    samples_by_shape: Dict[tuple, List[int]] = {}
    for index, tensor in enumerate(tensors):
        samples_by_shape.setdefault(tuple(tensor.shape), []).append(index)
    if len(samples_by_shape) > 1:
        shapes = '; '.join(f'{shape} at samples {indices}' for shape, indices in samples_by_shape.items())
        hint = ' (resize or crop every image to one size in the pipeline)' if key == 'images' else ''
        raise ValueError(f"cannot batch '{key}': samples have different shapes: {shapes}{hint}")
    return torch.stack(list(tensors))


@FUNCTIONS.register_module()
def image_text_collate(data_batch: Sequence[dict]) -> dict:
    """Batch the output of ``PackImageTextInputs``.

    Returns ``{'inputs': {'images': (B, 3, H, W) uint8, 'input_ids': (B, L), 'attention_mask': (B, L)},
    'data_samples': [dict, ...]}``; metadata stays a list because ids may be strings.

    mmengine's Runner looks collate functions up in its root registry without a default scope, so
    configs name this one with its scope: ``collate_fn=dict(type='zerovl.image_text_collate')``.
    """
    if len(data_batch) == 0:
        raise ValueError('image_text_collate: empty batch')
    keys = data_batch[0]['inputs'].keys()
    inputs = {key: stack_same_shape(key, [sample['inputs'][key] for sample in data_batch]) for key in keys}
    return dict(inputs=inputs, data_samples=[sample['data_samples'] for sample in data_batch])
