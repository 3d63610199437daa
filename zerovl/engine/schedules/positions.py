"""Scheduler positions that follow the run: ``end=None`` and ``dict(run_fraction=f)``.

MMEngine reads a scheduler's ``begin`` and ``end`` as numbers (epochs, or iterations with
``by_epoch=False``). Written as Python variables of the config (``end=max_epochs``), they stay where they
were when ``--cfg-options train_cfg.max_epochs=3`` shortens the run, and a warm-up of half an epoch
becomes one iteration on a small dataset (or none). zerovl configs therefore write

* ``end=None`` (or no ``end``): the end of the run, ``train_cfg.max_epochs`` / ``max_iters``;
* ``dict(run_fraction=f)`` for ``begin`` or ``end``: that fraction of the run's iterations, rounded down
  and at least :data:`MIN_FRACTION_ITERS`, so that a warm-up always reaches its peak.

They are resolved when the train loop is built (the dataloader's length is known then) and before the
schedulers are; numbers are left as they are.
"""
import copy
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import List, Mapping, Union

from zerovl.utils.schema import check_keys

# A LinearLR over n iterations is at its start factor in the first and at its end factor in the n-th:
# it needs two to reach its peak, which is the least a warm-up placed by a run fraction gets.
MIN_FRACTION_ITERS = 2
FRACTION_KEYS = ('run_fraction',)

Position = Union[int, float, Fraction]


@dataclass(frozen=True)
class RunLength:
    """How long the run is: optimizer steps in all, and per epoch (``len(train_dataloader)``)."""
    iters: int
    epoch_length: int

    @property
    def epochs(self) -> Fraction:
        return Fraction(self.iters, self.epoch_length)


def is_symbolic(value) -> bool:
    return value is None or isinstance(value, Mapping)


def fraction_of(value: Mapping, total: int, key: str) -> int:
    """``value['run_fraction']`` of ``total`` steps, rounded down, at least MIN_FRACTION_ITERS (and at
    most the run: on a run too short for it, the check refuses what cannot complete)."""
    check_keys(value, FRACTION_KEYS, key)
    fraction = value.get('run_fraction')
    if not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise ValueError(f'{key}.run_fraction must be a number in (0, 1), got {fraction!r}')
    return min(total, max(MIN_FRACTION_ITERS, math.floor(fraction * total + 1e-9)))


def resolve_position(value, scheduler: Mapping, run: RunLength, key: str) -> Position:
    """A symbolic position in the unit the scheduler's config uses.

    A scheduler converted from epochs to iterations (``convert_to_iter_based``) gets an exact
    ``Fraction`` of an epoch, which MMEngine's ``int(epochs * epoch_length)`` turns back into the
    intended iteration; one stepped per epoch gets whole epochs; an iteration-based one iterations.
    """
    stepped_per_epoch = scheduler.get('by_epoch', True) and not scheduler.get('convert_to_iter_based', False)
    if stepped_per_epoch:
        epochs = math.ceil(run.epochs)
        return epochs if value is None else fraction_of(value, epochs, key)
    iters = run.iters if value is None else fraction_of(value, run.iters, key)
    return Fraction(iters, run.epoch_length) if scheduler.get('by_epoch', True) else iters


def resolve_param_schedulers(schedulers: List[Mapping], run: RunLength, key: str = 'param_scheduler') -> List:
    """Copies of ``schedulers`` whose symbolic ``begin``/``end`` are numbers for this run. A missing
    ``end`` means the run's end, as it does for MMEngine's Runner; built schedulers pass unchanged.

    A scheduler placed only by symbols that has no iteration left on this run (the cosine after a
    2-iteration warm-up on a 2-iteration smoke test) becomes None, to be left out: the rest still fits
    the run, and the others keep their index (error messages name ``param_scheduler[i]``)."""
    resolved = []
    for index, scheduler in enumerate(schedulers):
        if not isinstance(scheduler, Mapping):
            resolved.append(scheduler)
            continue
        scheduler = copy.deepcopy(scheduler)
        scheduler.setdefault('end', None)
        symbolic = [field for field in ('begin', 'end') if is_symbolic(scheduler.get(field, 0))]
        for field in symbolic:
            scheduler[field] = resolve_position(scheduler[field], scheduler, run, f'{key}[{index}].{field}')
        empty = len(symbolic) == 2 and scheduler['end'] <= scheduler['begin']
        resolved.append(None if empty else scheduler)
    return resolved
