"""Does a checkpoint's state dict fit a model? One check and one error message for every place that loads
weights which must fit: ``load_from`` and ``tools/test.py`` (``StrictLoadHook``), the export and the exported
model, the retrieval visualisation, the linear probe's tower and the original-checkpoint converter.

``torch``'s ``load_state_dict(strict=False)``, which MMEngine's ``Runner.load_checkpoint`` uses, only logs
what did not fit: an empty state dict or a model of another width then evaluates random weights and reports
the result as if it were the checkpoint's. Here a misfit is an error that names the source and the keys.
"""
from dataclasses import dataclass, field
from typing import List, Mapping, Tuple

import torch

# Keys listed per kind before the rest is only counted: enough to recognise the pattern (a prefix, a layer)
# without a wall of text for a checkpoint of another architecture.
SHOWN_KEYS = 10

# Training state that is not weights: the coin-flip mixup's step counter. A checkpoint trained without mixup
# (or converted from the original code) fine-tunes a model with mixup, whose counter then starts at 0, and the
# other way round; so loaders that start a new run let these keys be missing or extra (never mis-shaped).
TRAINING_STATE_PREFIXES = ('mixup.', )


class StateDictMismatchError(RuntimeError):
    """A state dict does not fit the model it is loaded into; the message lists what does not fit."""


@dataclass
class StateDictMismatch:
    missing: List[str] = field(default_factory=list)      # in the model, not in the checkpoint
    unexpected: List[str] = field(default_factory=list)   # in the checkpoint, not in the model
    wrong_shape: List[Tuple[str, tuple, tuple]] = field(default_factory=list)  # (key, checkpoint, model)

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.wrong_shape)


def shape_of(value) -> tuple:
    return tuple(value.shape) if hasattr(value, 'shape') else ()


def compare_state_dicts(expected: Mapping, loaded: Mapping,
                        optional_prefixes: Tuple[str, ...] = ()) -> StateDictMismatch:
    """What of ``loaded`` does not fit ``expected`` (a model's ``state_dict()``), by key and shape. Keys under
    ``optional_prefixes`` may be absent on either side; where both have them, their shapes must agree."""
    def required(keys):
        return sorted(key for key in keys if not key.startswith(optional_prefixes))  # startswith(()) is False
    return StateDictMismatch(
        missing=required(set(expected) - set(loaded)),
        unexpected=required(set(loaded) - set(expected)),
        wrong_shape=[(key, shape_of(loaded[key]), shape_of(expected[key]))
                     for key in sorted(set(expected) & set(loaded))
                     if shape_of(loaded[key]) != shape_of(expected[key])])


def listing(title: str, items: List[str]) -> str:
    shown = ', '.join(items[:SHOWN_KEYS])
    more = f', ... and {len(items) - SHOWN_KEYS} more' if len(items) > SHOWN_KEYS else ''
    return f'  {title} ({len(items)}): {shown}{more}'


def describe_mismatch(mismatch: StateDictMismatch, source: str, total_expected: int) -> str:
    """A message that says which file, how many keys of each kind, and the first of them."""
    lines = [f'{source} does not fit the model ({total_expected} tensors expected): '
             f'{len(mismatch.missing)} missing, {len(mismatch.unexpected)} unexpected, '
             f'{len(mismatch.wrong_shape)} of another shape']
    if mismatch.missing:
        lines.append(listing('missing from the checkpoint', mismatch.missing))
    if mismatch.unexpected:
        lines.append(listing('not in the model', mismatch.unexpected))
    if mismatch.wrong_shape:
        lines.append(listing('shape differs (checkpoint vs model)',
                             [f'{key} {list(got)} vs {list(want)}' for key, got, want in mismatch.wrong_shape]))
    return '\n'.join(lines)


def check_state_dict_fits(model: torch.nn.Module, state_dict: Mapping, source: str, hint: str = '',
                          optional_prefixes: Tuple[str, ...] = ()) -> None:
    """Raise :class:`StateDictMismatchError` unless ``state_dict`` has exactly the model's keys and shapes
    (keys under ``optional_prefixes`` may be absent on either side)."""
    expected = model.state_dict()
    mismatch = compare_state_dicts(expected, state_dict, optional_prefixes)
    if mismatch:
        raise StateDictMismatchError(describe_mismatch(mismatch, source, len(expected)) + (f'\n{hint}' if hint else ''))


def load_state_dict_strictly(model: torch.nn.Module, state_dict: Mapping, source: str, hint: str = '') -> None:
    """``model.load_state_dict(state_dict, strict=True)``, refused first with the full list when it does not
    fit (torch would stop at the first size mismatch, with a message that does not name the file)."""
    check_state_dict_fits(model, state_dict, source, hint)
    model.load_state_dict(state_dict, strict=True)
