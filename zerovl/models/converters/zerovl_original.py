"""Map a checkpoint of the original ZeroVL code (github.com/zerovl/ZeroVL) onto :class:`DualEncoder`'s keys.

The original ``CLIPModel`` nests its towers twice (``ImageEncoder.model`` is a ``TimmModel`` whose
``.model`` is the timm network; the text side likewise wraps a Hugging Face ``BertModel``), names its
bias-free heads ``SimpleProjection.linear`` and keeps a learnable τ as ``loss.temperature``:

    image_encoder.model.model.<timm key>   -> image_tower.model.<timm key>
    image_encoder.model.model.pre_logits.* -> image_tower.pre_logits.*      (old in21k ViTs, see below)
    text_encoder.model.model.<bert key>    -> text_tower.model.<bert key>
    image_projection.linear.weight         -> image_projection.weight
    text_projection.linear.weight          -> text_projection.weight
    loss.temperature                       -> loss_module.temperature.value

A single level of nesting (``image_encoder.model.<timm key>``) is accepted too: neither a timm ViT nor
BERT has a child called ``model``, so the two layouts cannot be confused.

Old timm built ``vit_base_patch16_224_in21k`` with a Linear+Tanh "pre-logits" layer on the CLS token
(docs/method.md §6 item 5). Dropping it would silently change every image feature, so it is mapped
onto the tower's ``pre_logits_dim`` option, which reproduces it.

Nothing is dropped silently: a key that matches no rule stops the conversion with its name; the only
keys left out are the BERT pooler (ZeroVL pools [CLS] without it, and our tower removes it) and the
index buffers older transformers saved, and each is listed with its reason.
"""
from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Tuple

import torch

from zerovl.utils.state_dict_fit import TRAINING_STATE_PREFIXES, StateDictMismatchError, check_state_dict_fits

__all__ = ['OriginalCheckpointError', 'ConvertedCheckpoint', 'extract_state_dict', 'convert_state_dict',
           'check_against_model']

TEMPERATURE_KEY = 'loss_module.temperature.value'
# ZeroVL's released training configs use a constant τ of 0.02, which is then not in the state dict.
DEFAULT_TEMPERATURE = 0.02

# (original prefix, our prefix), most specific first: the first match wins.
PREFIX_RULES: Tuple[Tuple[str, str], ...] = (
    ('image_encoder.model.model.pre_logits.', 'image_tower.pre_logits.'),
    ('image_encoder.model.model.', 'image_tower.model.'),
    ('image_encoder.model.pre_logits.', 'image_tower.pre_logits.'),
    ('image_encoder.model.', 'image_tower.model.'),
    ('text_encoder.model.model.', 'text_tower.model.'),
    ('text_encoder.model.', 'text_tower.model.'),
)
EXACT_RULES: Dict[str, str] = {
    'image_projection.linear.weight': 'image_projection.weight',
    'text_projection.linear.weight': 'text_projection.weight',
    'loss.temperature': TEMPERATURE_KEY,
}
# Converted keys that the model has no place for, and why leaving them out changes no output.
IGNORED_PREFIXES: Tuple[Tuple[str, str], ...] = (
    ('text_tower.model.pooler.', 'BERT pooler: ZeroVL takes [CLS] of the last layer without it'),
    ('text_tower.model.embeddings.position_ids', 'index buffer saved by older transformers, not a weight'),
    ('text_tower.model.embeddings.token_type_ids', 'index buffer saved by older transformers, not a weight'),
)
# Groups the converted state dict must contain: without them the model would keep random weights.
REQUIRED_PREFIXES = ('image_tower.model.', 'text_tower.model.', 'image_projection.weight',
                     'text_projection.weight')


class OriginalCheckpointError(ValueError):
    """The checkpoint is not an original ZeroVL checkpoint we can convert; the message names the keys."""


@dataclass
class ConvertedCheckpoint:
    """The state dict under our keys and what the model config needs to hold it."""

    state_dict: Dict[str, torch.Tensor]
    ignored: Dict[str, str] = field(default_factory=dict)  # original key -> why it was left out
    pre_logits_dim: Optional[int] = None                     # the width of old timm's pre-logits layer
    temperature: float = DEFAULT_TEMPERATURE
    temperature_in_checkpoint: bool = False                  # a learnable τ ('parameter' in the original)


def extract_state_dict(checkpoint, source: str = 'checkpoint') -> Dict[str, torch.Tensor]:
    """The tensors of ``checkpoint``: under 'state_dict' or 'model', or at the top level, without the
    ``module.`` prefix of a DistributedDataParallel model."""
    if not isinstance(checkpoint, Mapping):
        raise OriginalCheckpointError(f'{source}: expected a dict, got {type(checkpoint).__name__}')
    for container in ('state_dict', 'model'):
        if isinstance(checkpoint.get(container), Mapping):
            checkpoint = checkpoint[container]
            break
    not_tensors = [key for key, value in checkpoint.items() if not isinstance(value, torch.Tensor)]
    if not_tensors:
        raise OriginalCheckpointError(f'{source}: no state dict found (under "state_dict", "model" or at the '
                                      f'top level); these entries are not tensors: {sorted(not_tensors)[:10]}')
    if not checkpoint:
        raise OriginalCheckpointError(f'{source}: the state dict is empty')
    if all(key.startswith('module.') for key in checkpoint):
        checkpoint = {key[len('module.'):]: value for key, value in checkpoint.items()}
    return dict(checkpoint)


def rename_key(key: str) -> Optional[str]:
    """Our name for an original key, or None when no rule covers it."""
    if key in EXACT_RULES:
        return EXACT_RULES[key]
    for original, ours in PREFIX_RULES:
        if key.startswith(original):
            return ours + key[len(original):]
    return None


def ignore_reason(our_key: str) -> Optional[str]:
    for prefix, reason in IGNORED_PREFIXES:
        if our_key.startswith(prefix):
            return reason
    return None


def convert_state_dict(original: Mapping[str, torch.Tensor], source: str = 'checkpoint',
                       temperature: Optional[float] = None) -> ConvertedCheckpoint:
    """Rename every tensor of an original state dict; refuse keys no rule covers and missing groups.

    ``temperature`` fills τ when the checkpoint has none (a constant-τ run); it may not contradict a τ
    the checkpoint holds.
    """
    converted, ignored, unknown = {}, {}, []
    for key, value in original.items():
        ours = rename_key(key)
        if ours is None:
            unknown.append(key)
        elif ignore_reason(ours):
            ignored[key] = ignore_reason(ours)
        else:
            converted[ours] = value
    if unknown:
        raise OriginalCheckpointError(
            f'{source}: {len(unknown)} key(s) match no rule of the original ZeroVL layout and would be lost: '
            f'{sorted(unknown)}. Expected image_encoder.model[.model].*, text_encoder.model[.model].*, '
            'image_projection.linear.weight, text_projection.linear.weight and loss.temperature.')
    missing = [prefix for prefix in REQUIRED_PREFIXES if not any(key.startswith(prefix) for key in converted)]
    if missing:
        raise OriginalCheckpointError(f'{source}: no tensors for {missing} (original names: '
                                      f'{[original_name(prefix) for prefix in missing]}); not a complete '
                                      'ZeroVL dual encoder')
    result = ConvertedCheckpoint(state_dict=converted, ignored=ignored)
    result.pre_logits_dim = pre_logits_width(converted, source)
    fill_temperature(result, source, temperature)
    return result


def original_name(our_prefix: str) -> str:
    for original, ours in PREFIX_RULES:
        if ours == our_prefix:
            return original + '*'
    return next((original for original, ours in EXACT_RULES.items() if ours == our_prefix), our_prefix)


def pre_logits_width(converted: Mapping[str, torch.Tensor], source: str) -> Optional[int]:
    """The output width of old timm's pre-logits layer, None without one; both its tensors must be there."""
    keys = sorted(key for key in converted if key.startswith('image_tower.pre_logits.'))
    if not keys:
        return None
    expected = ['image_tower.pre_logits.fc.bias', 'image_tower.pre_logits.fc.weight']
    if keys != expected:
        raise OriginalCheckpointError(f'{source}: the ViT pre-logits layer should be exactly fc.weight and '
                                      f'fc.bias (Linear + Tanh of old timm), found {keys}')
    return int(converted['image_tower.pre_logits.fc.weight'].shape[0])


def fill_temperature(result: ConvertedCheckpoint, source: str, temperature: Optional[float]) -> None:
    stored = result.state_dict.get(TEMPERATURE_KEY)
    if stored is None:
        result.temperature = DEFAULT_TEMPERATURE if temperature is None else float(temperature)
        result.state_dict[TEMPERATURE_KEY] = torch.tensor(result.temperature)
        return
    if stored.numel() != 1:
        raise OriginalCheckpointError(f'{source}: loss.temperature should be a scalar, has shape '
                                      f'{tuple(stored.shape)}')
    result.temperature_in_checkpoint = True
    result.temperature = float(stored)
    if temperature is not None and abs(float(temperature) - result.temperature) > 1e-6:
        raise OriginalCheckpointError(f'{source}: holds loss.temperature = {result.temperature:.6g}, but '
                                      f'{temperature} was asked for; leave the temperature out')
    result.state_dict[TEMPERATURE_KEY] = stored.reshape(())


def check_against_model(state_dict: Mapping[str, torch.Tensor], model: torch.nn.Module,
                        source: str = 'converted checkpoint') -> None:
    """Refuse unless ``state_dict`` fills ``model`` exactly: every key present, none extra, shapes equal
    (zerovl's shared check; only the mixup step counter, which no original checkpoint holds, may be absent)."""
    try:
        check_state_dict_fits(model, state_dict, source, optional_prefixes=TRAINING_STATE_PREFIXES)
    except StateDictMismatchError as error:
        raise OriginalCheckpointError(str(error)) from None
