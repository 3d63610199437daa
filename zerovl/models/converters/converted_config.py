"""What a converted ZeroVL checkpoint needs besides its tensors: the input normalisation it was trained
with, recorded in the checkpoint's meta and written as a config snippet for ``load_from``.

The two released models expect different pixels (docs/method.md §6 item 3): the 14M model ImageNet
mean/std, the 100M model mean = std = 0.5. Nothing in their state dicts tells them apart, so the
normalisation is always stated by the user and never defaulted.
"""
import os
import os.path as osp
from typing import Dict, Optional, Sequence

import torch

from zerovl.models.data_preprocessor import IMAGENET_MEAN, IMAGENET_STD
from zerovl.utils.atomic_file import partial_path, publish, write_text_atomically
from .zerovl_original import ConvertedCheckpoint

# On the 0-255 scale of ImageTextDataPreprocessor.
NORMALISATIONS: Dict[str, Dict[str, list]] = {
    '14m': dict(mean=list(IMAGENET_MEAN), std=list(IMAGENET_STD)),
    '100m': dict(mean=[127.5] * 3, std=[127.5] * 3),
}
# Temperature's clamp range: a config's init must lie inside it.
TEMPERATURE_RANGE = (0.001, 0.5)


def normalisation(variant: Optional[str] = None, mean: Optional[Sequence[float]] = None,
                  std: Optional[Sequence[float]] = None) -> Dict[str, list]:
    """mean/std on the 0-255 scale, from a released variant or from values on the original configs'
    0-1 scale (``transforms.normalize`` in their YAML)."""
    if variant is not None:
        if mean is not None or std is not None:
            raise ValueError('give either a variant or mean/std, not both')
        if variant not in NORMALISATIONS:
            raise ValueError(f'unknown variant {variant!r}; known: {sorted(NORMALISATIONS)}')
        return {key: list(values) for key, values in NORMALISATIONS[variant].items()}
    if mean is None or std is None:
        raise ValueError('the normalisation the checkpoint expects is required: a variant (14m: ImageNet '
                         'mean/std, 100m: 0.5/0.5) or both mean and std')
    # Values above 1 are most likely on the 0-255 scale already; refusing them beats normalising twice.
    for name, values, low_ok in (('mean', mean, True), ('std', std, False)):
        in_range = all((0 <= float(v) if low_ok else 0 < float(v)) and float(v) <= 1 for v in values)
        if len(values) != 3 or not in_range:
            raise ValueError(f'{name} needs 3 values on the 0-1 scale of the original configs '
                             f'(e.g. 0.485 0.456 0.406), got {list(values)}')
    return dict(mean=[round(float(v) * 255, 6) for v in mean], std=[round(float(v) * 255, 6) for v in std])


def model_overrides(converted: ConvertedCheckpoint, norm: Dict[str, list]) -> dict:
    """The keys a dual-encoder model config must hold for the converted weights to load and behave as
    in the original: the pre-logits layer, the temperature and the pixel normalisation. Pre-trained
    tower weights are switched off: ``load_from`` replaces all of them."""
    image_tower = dict(pretrained=False)
    if converted.pre_logits_dim is not None:
        image_tower['pre_logits_dim'] = converted.pre_logits_dim
    low, high = TEMPERATURE_RANGE
    # Only the starting value of a learnable τ (the state dict holds the exact one), so 6 digits do.
    init = round(min(max(converted.temperature, low), high), 6)
    return dict(
        image_tower=image_tower,
        text_tower=dict(pretrained=False),
        loss=dict(temperature=dict(init=init, learnable=converted.temperature_in_checkpoint)),
        data_preprocessor=dict(type='ImageTextDataPreprocessor', mean=norm['mean'], std=norm['std']),
    )


def conversion_meta(converted: ConvertedCheckpoint, overrides: dict, source: str, variant: Optional[str]) -> dict:
    """Plain containers only, so the checkpoint still loads with ``weights_only=True``."""
    return dict(
        converted_from=dict(path=osp.abspath(source), layout='zerovl/ZeroVL (original code)'),
        variant=variant,
        data_preprocessor=dict(overrides['data_preprocessor']),
        model_overrides=overrides,
        pre_logits_dim=converted.pre_logits_dim,
        temperature=converted.temperature,
        temperature_in_checkpoint=converted.temperature_in_checkpoint,
        ignored_keys=dict(converted.ignored),
    )


def config_literal(value) -> str:
    """``value`` as the ``dict(key=...)`` Python that configs are written in."""
    if isinstance(value, dict) and all(isinstance(key, str) and key.isidentifier() for key in value):
        return 'dict(' + ', '.join(f'{key}={config_literal(item)}' for key, item in value.items()) + ')'
    return repr(value)


def config_snippet(overrides: dict, checkpoint: str, source: str) -> str:
    lines = [
        f'# Written by tools/model_converters/convert_zerovl_original.py from {source}.',
        '# Merge into a config whose model is ZeroVL\'s dual encoder (configs/_base_/models/zerovl_vitb16_bert.py,',
        '# whose towers are those of the original: ViT-B/16 and bert-base-uncased).',
        'model = dict(',
    ]
    lines += [f'    {key}={config_literal(value)},' for key, value in overrides.items()]
    lines += [')', f'load_from = {osp.abspath(checkpoint)!r}', '']
    return '\n'.join(lines)


def save_checkpoint(state_dict: Dict[str, torch.Tensor], meta: dict, path: str) -> str:
    """MMEngine's checkpoint layout (``meta`` + ``state_dict``), written atomically."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    partial = partial_path(path)
    torch.save(dict(meta=meta, state_dict={key: value.contiguous() for key, value in state_dict.items()}), partial)
    publish(partial, path)
    return path


def save_snippet(text: str, path: str) -> str:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    write_text_atomically(path, text)
    return path
