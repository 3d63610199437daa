"""ZeroVL's debiased sampling: every global batch (all ranks together) comes from one source dataset.

Contrastive negatives are the other samples of the global batch. ZeroVL reports that batches mixing
sources bias the learned feature distributions (negatives from another source can be told apart by
their source rather than their content); drawing each global batch from one dataset keeps every
negative in-domain (docs/method.md §2.1).

The batch plan of an epoch (which dataset each global batch comes from, and which indices) is a pure
function of (seed, epoch, dataset sizes, global batch size): every rank computes the same plan
without communicating, a resumed run recomputes it and starts at the saved position, and no clock or
global RNG is involved (the original seeded with ``time.time()``, which let ranks disagree, and never
advanced the epoch, so every epoch repeated the first order; both are fixed here).
"""
import math
import warnings
from typing import Dict, Iterator, List, NamedTuple, Optional, Sequence

import numpy as np
from torch.utils.data import Sampler

from zerovl.registry import DATA_SAMPLERS
from zerovl.utils.dist import get_rank, get_world_size
from zerovl.utils.rng import keyed_rng
from zerovl.utils.schema import check_keys

MODES = ('debias', 'shuffle', 'sequential')
# The keys of a ``batch_sampler=dict(type='DebiasedBatchSampler', ...)`` config (the Runner adds the rest).
CONFIG_KEYS = ('mode', 'weights', 'exhaustive', 'seed', 'rank', 'world_size')

# Independent random streams of one (seed, epoch): the dataset schedule and each dataset's permutations.
_SCHEDULE_STREAM = 0
_PERMUTATION_STREAM = 1


class PlannedBatch(NamedTuple):
    """One per-rank batch: the dataset it comes from (None in 'shuffle' mode, where batches may mix
    datasets) and its indices into the concatenated dataset."""
    dataset: Optional[int]
    indices: List[int]


class _Group(NamedTuple):
    """One source dataset inside the concatenation."""
    name: str
    offset: int  # index of its first sample in the concatenated dataset
    size: int


def dataset_groups(dataset) -> List[_Group]:
    """The source datasets of a ConcatDataset (anything with ``datasets`` and ``cumulative_sizes``),
    or the dataset itself as the only group."""
    # mmengine's wrappers compute cumulative_sizes in full_init; the Runner has usually called it
    # already, but a sampler built by hand may see a lazily initialised dataset.
    if hasattr(dataset, 'full_init'):
        dataset.full_init()
    if not (hasattr(dataset, 'datasets') and hasattr(dataset, 'cumulative_sizes')):
        return [_Group(_dataset_name(dataset, 0), 0, len(dataset))]
    groups, offset = [], 0
    for index, (part, end) in enumerate(zip(dataset.datasets, dataset.cumulative_sizes)):
        groups.append(_Group(_dataset_name(part, index), offset, end - offset))
        offset = end
    return groups


def _dataset_name(dataset, index: int) -> str:
    name = getattr(dataset, 'name', None)
    return f"'{name}'" if isinstance(name, str) else f'datasets[{index}] ({type(dataset).__name__})'


def group_probabilities(groups: Sequence[_Group], full_batches: Sequence[int],
                        weights: Optional[Sequence[float]]) -> np.ndarray:
    """Probability of drawing each dataset per global batch: ∝ ``weights``, or ∝ size (ZeroVL).

    A dataset without one full global batch cannot be drawn; its share goes to the others.
    """
    if weights is None:
        raw = np.array([group.size for group in groups], dtype=np.float64)
    else:
        raw = np.array(check_weights(weights, groups), dtype=np.float64)
    raw[np.asarray(full_batches) == 0] = 0.0
    return raw / raw.sum()


def check_weights(weights: Sequence[float], groups: Sequence[_Group]) -> List[float]:
    names = ', '.join(group.name for group in groups)
    if len(weights) != len(groups):
        raise ValueError(f'batch_sampler.weights has {len(weights)} entries but the training dataset '
                         f'concatenates {len(groups)} dataset(s) ({names}); give one weight per dataset')
    values = [float(weight) for weight in weights]
    if not all(math.isfinite(value) and value > 0 for value in values):
        raise ValueError(f'batch_sampler.weights must be positive finite numbers (one per dataset: '
                         f'{names}), got {list(weights)}')
    return values


def occurrence_numbers(schedule: np.ndarray, num_groups: int) -> np.ndarray:
    """For each step, how many earlier steps drew the same dataset: which of its batches to take."""
    occurrences = np.empty_like(schedule)
    for group in range(num_groups):
        steps = np.flatnonzero(schedule == group)
        occurrences[steps] = np.arange(len(steps))
    return occurrences


@DATA_SAMPLERS.register_module()
class DebiasedBatchSampler(Sampler):
    """Batch sampler that draws each global batch from one dataset of a ConcatDataset.

    Used as ``batch_sampler`` of a train dataloader, next to a ``sampler`` that only supplies the
    dataset, the seed and the epoch (the Runner builds the sampler first and passes it here together
    with the per-rank ``batch_size``)::

        train_dataloader = dict(
            batch_size=128,  # per rank
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_sampler=dict(type='DebiasedBatchSampler', mode='debias'),
            dataset=dict(type='ConcatDataset', datasets=[...]),
            ...)  # no drop_last: DataLoader refuses it next to a batch_sampler (batches are always full)

    An epoch has ``sum_d floor(len(d) / (batch_size * world_size))`` global batches (ZeroVL's steps per
    epoch); a dataset smaller than one global batch contributes none (a warning names it). Global batch
    ``g`` takes the next ``batch_size * world_size`` indices of its dataset's permutation and rank ``r``
    takes the ``r``-th contiguous share, so ranks never overlap. Each batch is a list of indices into
    the concatenated dataset.

    Modes:
        'debias': ZeroVL. Each global batch comes from one dataset. Two ways to choose which:

            * ``exhaustive=True`` (default when ``weights`` is not given): a seeded random interleaving
              of every dataset's own full batches. Every sample is seen exactly once per epoch and each
              dataset supplies exactly its share of the batches (∝ its size, up to the dropped partial
              batch), while the dataset at any given step is still a random draw ∝ size. This is the
              expectation of ZeroVL's draw, without its sampling noise and without its repeats.
            * ``exhaustive=False`` (default, and the only choice, when ``weights`` is given): ZeroVL's
              own rule. Each step draws a dataset ~ Categorical(p), p ∝ ``weights`` or ∝ size; a
              dataset whose batches run out starts a new pass with a new permutation. Frequencies
              match p only in expectation, and a dataset drawn more often than its size allows repeats
              samples within the epoch, which is inherent to weights that differ from size.
        'shuffle': the paper's random-sampling baseline: one permutation of the whole concatenation
            per epoch, sharded across ranks; batches may mix datasets.
        'sequential': all batches of dataset 0 (shuffled within), then all of dataset 1, ...; batches
            are single-dataset but datasets are not interleaved.

    Args:
        sampler: the dataloader's sampler; supplies ``dataset``, ``seed`` and the epoch.
        batch_size: per-rank batch size.
        mode: 'debias', 'shuffle' or 'sequential'.
        weights: 'debias' only; one positive weight per dataset, the probability of drawing it.
        exhaustive: 'debias' only; see above. None picks True without ``weights``, False with them.
        seed: overrides ``sampler.seed`` (which mmengine syncs across ranks); must agree on all ranks.
        rank, world_size: default to the process group; given explicitly to simulate ranks in tests.

    The epoch: mmengine's ``DistSamplerSeedHook`` calls ``set_epoch`` on ``batch_sampler.sampler``
    (the wrapped sampler), not on the batch sampler, so the wrapped sampler's ``epoch`` is read at every
    ``__iter__``; ``set_epoch`` here forwards to it, keeping both in step.

    Resuming: ``state_dict()`` gives ``epoch`` and ``position`` (batches handed out so far this epoch);
    after ``load_state_dict`` the next ``__iter__`` of that epoch starts at batch ``position`` without
    producing the skipped batches. With ``num_workers > 0`` the DataLoader asks for batches ahead of
    training (prefetch), so a checkpoint should store the loop's own count of finished iterations as
    ``position`` rather than this sampler's.
    """

    def __init__(self,
                 sampler,
                 batch_size: int,
                 mode: str = 'debias',
                 weights: Optional[Sequence[float]] = None,
                 exhaustive: Optional[bool] = None,
                 seed: Optional[int] = None,
                 rank: Optional[int] = None,
                 world_size: Optional[int] = None,
                 **unknown) -> None:
        # Taken and refused here, so that a typo is named as a config key with the nearest valid one.
        check_keys(unknown, CONFIG_KEYS, 'train_dataloader.batch_sampler')
        if not hasattr(sampler, 'dataset'):
            raise TypeError(f'DebiasedBatchSampler needs a sampler with a .dataset attribute (e.g. '
                            f'DefaultSampler), got {type(sampler).__name__}')
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f'batch_size must be a positive integer, got {batch_size!r}')
        self.sampler = sampler
        self.batch_size = batch_size  # per rank; mmengine reads it (runner/utils.py _get_batch_size)
        self.world_size = get_world_size() if world_size is None else world_size
        self.rank = get_rank() if rank is None else rank
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f'rank {self.rank} is outside world size {self.world_size}')
        self.mode = mode
        self.exhaustive = self._resolve_exhaustive(mode, weights, exhaustive)
        self.seed = self._resolve_seed(seed, sampler)
        self._epoch = 0  # used only when the wrapped sampler keeps no epoch of its own
        self._position_epoch, self._position = 0, 0
        self._resume: Optional[Dict[str, int]] = None

        self.groups = dataset_groups(sampler.dataset) if mode != 'shuffle' else \
            [_Group('the concatenation', 0, len(sampler.dataset))]
        self.full_batches = [group.size // self.global_batch_size for group in self.groups]
        self._check_sizes()
        self.probabilities = group_probabilities(self.groups, self.full_batches, weights) \
            if mode == 'debias' and not self.exhaustive else None
        if not hasattr(sampler, 'set_epoch'):
            warnings.warn(f'{type(sampler).__name__} has no set_epoch, so DistSamplerSeedHook cannot '
                          f'advance the epoch of DebiasedBatchSampler; call its set_epoch every epoch '
                          f'or every epoch repeats the same order')

    @staticmethod
    def _resolve_exhaustive(mode: str, weights, exhaustive: Optional[bool]) -> bool:
        if mode not in MODES:
            raise ValueError(f'batch_sampler.mode must be one of {MODES}, got {mode!r}')
        if mode != 'debias':
            if weights is not None or exhaustive is not None:
                raise ValueError(f"batch_sampler.weights and batch_sampler.exhaustive only apply to "
                                 f"mode='debias', not mode={mode!r}")
            return True
        if exhaustive and weights is not None:
            raise ValueError('batch_sampler.exhaustive=True takes every full batch once per epoch, so '
                             'dataset frequencies follow dataset sizes and cannot follow '
                             'batch_sampler.weights; drop the weights or set exhaustive=False')
        return weights is None if exhaustive is None else bool(exhaustive)

    @staticmethod
    def _resolve_seed(seed: Optional[int], sampler) -> int:
        if seed is None:
            seed = getattr(sampler, 'seed', None)
        if seed is None:
            # Imported here: only a hand-built sampler without a seed needs the broadcast.
            from mmengine.dist import sync_random_seed
            seed = sync_random_seed()
        return int(seed)

    def _check_sizes(self) -> None:
        if len(self) == 0:
            sizes = ', '.join(f'{group.name}: {group.size}' for group in self.groups)
            raise ValueError(f'no full global batch of {self.global_batch_size} samples ({self.batch_size} '
                             f'per rank x {self.world_size} ranks) fits in the training data ({sizes})')
        if self.mode == 'shuffle':
            return  # one group, the whole concatenation, which has full batches
        for group, count in zip(self.groups, self.full_batches):
            if count == 0:
                warnings.warn(f'dataset {group.name} has {group.size} samples, fewer than one global '
                              f'batch ({self.batch_size} x {self.world_size} ranks = '
                              f'{self.global_batch_size}); DebiasedBatchSampler never draws it')

    @property
    def global_batch_size(self) -> int:
        return self.batch_size * self.world_size

    @property
    def epoch(self) -> int:
        # DistSamplerSeedHook sets the wrapped sampler's epoch (mmengine/hooks/sampler_seed_hook.py),
        # so that one is the truth whenever it exists.
        return getattr(self.sampler, 'epoch', self._epoch)

    def set_epoch(self, epoch: int) -> None:
        self._epoch = epoch
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        """Per-rank batches per epoch, the same on every rank."""
        return sum(self.full_batches)

    def __iter__(self) -> Iterator[List[int]]:
        epoch = self.epoch
        start = self._take_resume_position(epoch)
        self._position_epoch, self._position = epoch, start
        for planned in self._planned_batches(epoch, start):
            # Counted before the yield: once a consumer holds k batches, state_dict says k.
            self._position += 1
            yield planned.indices

    def plan(self, epoch: Optional[int] = None) -> List[PlannedBatch]:
        """This rank's whole epoch (default: the current one) with each batch's dataset; for tests
        and inspection, it has no effect on iteration."""
        return list(self._planned_batches(self.epoch if epoch is None else epoch, 0))

    def _planned_batches(self, epoch: int, start: int) -> Iterator[PlannedBatch]:
        schedule = self._schedule(epoch)
        occurrences = occurrence_numbers(schedule, len(self.groups))
        permutations: Dict[int, tuple] = {}  # group -> (pass, permutation): only the current pass is kept
        for step in range(start, len(schedule)):
            group = int(schedule[step])
            # A pass is one sweep over a dataset's full batches; only ZeroVL's categorical draw can ask
            # for more batches than one pass holds, and then the dataset restarts with a new order.
            sweep, batch = divmod(int(occurrences[step]), self.full_batches[group])
            if permutations.get(group, (None,))[0] != sweep:
                permutations[group] = (sweep, self._permutation(epoch, group, sweep))
            yield PlannedBatch(None if self.mode == 'shuffle' else group,
                               self._rank_share(group, permutations[group][1], batch))

    def _schedule(self, epoch: int) -> np.ndarray:
        """The dataset of every global batch of the epoch; identical on all ranks."""
        counts = np.asarray(self.full_batches)
        ordered = np.repeat(np.arange(len(self.groups)), counts)
        if self.mode != 'debias':
            return ordered  # 'shuffle' has one group; 'sequential' keeps dataset order
        rng = keyed_rng(self.seed, epoch, _SCHEDULE_STREAM)
        if self.exhaustive:
            return rng.permutation(ordered)
        return rng.choice(len(self.groups), size=len(self), p=self.probabilities)

    def _permutation(self, epoch: int, group: int, sweep: int) -> np.ndarray:
        rng = keyed_rng(self.seed, epoch, _PERMUTATION_STREAM, group, sweep)
        return rng.permutation(self.groups[group].size)

    def _rank_share(self, group: int, permutation: np.ndarray, batch: int) -> List[int]:
        first = batch * self.global_batch_size + self.rank * self.batch_size
        local = permutation[first:first + self.batch_size]
        return (local + self.groups[group].offset).tolist()

    def state_dict(self) -> dict:
        """Where iteration stands, plus what the plan depends on, as plain ints, floats, strings and
        lists (safe for ``torch.load(weights_only=True)``)."""
        epoch = self.epoch
        if self._resume is not None and self._resume['epoch'] == epoch:
            position = self._resume['position']  # loaded, not yet iterated
        elif self._position_epoch == epoch:
            position = self._position
        else:
            position = 0  # a new epoch that has not started
        return dict(epoch=int(epoch), position=int(position), seed=self.seed, **self._plan_inputs())

    def load_state_dict(self, state: dict) -> None:
        """Continue where ``state`` stopped: the next ``__iter__`` of ``state['epoch']`` starts at
        batch ``state['position']``. The saved seed replaces this sampler's, as the Runner does with
        the checkpoint's seed on resume."""
        self._check_compatible(state)
        self.seed = int(state['seed'])
        self.set_epoch(int(state['epoch']))
        self._resume = dict(epoch=int(state['epoch']), position=int(state['position']))

    def _plan_inputs(self) -> dict:
        """Everything besides (seed, epoch) that the batch plan depends on. The world size is not
        among them: only the global batch is, so 2 ranks x 8 resume exactly on 4 ranks x 4."""
        probabilities = [] if self.probabilities is None else [float(p) for p in self.probabilities]
        return dict(mode=self.mode, exhaustive=self.exhaustive, global_batch_size=self.global_batch_size,
                    dataset_sizes=[group.size for group in self.groups], probabilities=probabilities)

    def _check_compatible(self, state: dict) -> None:
        # A saved position only means something for the same plan; resuming a different one would
        # silently skip or repeat data.
        for key, current in self._plan_inputs().items():
            if state.get(key) != current:
                raise ValueError(f'sampler state was saved with {key}={state.get(key)!r}, but this run '
                                 f'has {key}={current!r}; the saved position does not apply')

    def _take_resume_position(self, epoch: int) -> int:
        """The loaded position, once, if this iteration is the epoch it was saved in."""
        resume, self._resume = self._resume, None
        return resume['position'] if resume is not None and resume['epoch'] == epoch else 0
