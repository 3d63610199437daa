"""Map an "EfficientNet-PyTorch" state dict (``_conv_stem``, ``_blocks.N._depthwise_conv``, ``_fc``) onto
timm's EfficientNet keys (``conv_stem``, ``blocks.S.B.conv_dw``, ``classifier``).

The two implementations register the same tensors in the same order, so the mapping is positional. That
is only safe when checked: every pair must agree on its last name component (``weight``, ``bias``,
``running_mean``, ...), which catches a swapped BatchNorm weight/bias that shapes alone would not, and on
its shape. The first disagreement stops the conversion with both names.

The result is written as safetensors (no pickle, ``zerovl.utils.safetensors_file``), which ``TimmImageTower(checkpoint=...)`` hands to timm's
own pretrained loader; with ``num_classes=0`` timm drops the ImageNet classifier there.
"""
from collections import OrderedDict
from typing import Mapping

import torch

__all__ = ['KeyMappingError', 'map_state_dict_by_order', 'convert_efficientnet_pytorch']


class KeyMappingError(ValueError):
    """The source state dict does not line up with the timm model; the message names both tensors."""


def map_state_dict_by_order(source: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor],
                            source_name: str = 'source',
                            target_name: str = 'target') -> 'OrderedDict[str, torch.Tensor]':
    """The source tensors under the target's keys, pair by pair in order, each pair checked."""
    if len(source) != len(target):
        raise KeyMappingError(f'{source_name} has {len(source)} tensors, {target_name} has {len(target)}: '
                              'not the same architecture')
    mapped = OrderedDict()
    for index, ((source_key, value), (target_key, reference)) in enumerate(zip(source.items(), target.items())):
        where = (f'tensor {index}: {source_name} {source_key!r} {tuple(value.shape)} -> '
                 f'{target_name} {target_key!r} {tuple(reference.shape)}')
        if source_key.rsplit('.', 1)[-1] != target_key.rsplit('.', 1)[-1]:
            raise KeyMappingError(f'{where}: different kinds of tensor (the orders differ)')
        if value.shape != reference.shape:
            raise KeyMappingError(f'{where}: shapes differ')
        mapped[target_key] = value.to(reference.dtype)
    return mapped


def convert_efficientnet_pytorch(source_path: str, model_name: str = 'tf_efficientnet_lite0'
                                 ) -> 'OrderedDict[str, torch.Tensor]':
    """Load an EfficientNet-PyTorch checkpoint (tensors only) and key it for timm's ``model_name``."""
    import timm

    # weights_only: the file is a plain state dict, and nothing in it may run code when unpickled.
    source = torch.load(source_path, map_location='cpu', weights_only=True)
    if not isinstance(source, Mapping):
        raise KeyMappingError(f'{source_path}: expected a state dict, got {type(source).__name__}')
    # With the classifier (num_classes left at 1000), so the file is a complete ImageNet model.
    target = timm.create_model(model_name, pretrained=False).state_dict()
    return map_state_dict_by_order(source, target, source_path, f'timm {model_name}')
