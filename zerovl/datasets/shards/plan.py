"""The epoch plan of a shard dataset: which shards each (rank, worker) streams, and which source
each of its batches comes from. A pure function of the seed, the epoch, the shard sizes (from
``_stats.json``), the batch size and the counts of ranks and workers: every rank computes it without
communicating, and a resumed run recomputes it.

Shards, not samples, are split between the ``world_size x num_workers`` readers ("slots"): slot
``rank + world_size * worker`` streams shards ``slot, slot + slots, ...`` of each source (in a new
order every epoch), so no two readers open the same shard and memory stays O(shards).

Global batches stay single-source (ZeroVL's debiased sampling) because rank ``r``'s ``j``-th batch
from worker ``w`` has the same source on every rank: each worker's list of batch sources depends on
``w`` but not on the rank. The DataLoader takes batches from its workers in turn, skipping workers
that have finished (``rank_batch_order``), which is the same on every rank too.

Two kinds of epoch:

* non-resampled (default): each shard is read once. Worker ``w`` takes ``floor(n / batch_size)``
  batches from a source, ``n`` being the fewest samples any rank's slot ``w`` holds of it (ranks must
  take the same number); the samples past that are not read this epoch, like DataLoader's drop_last,
  and differ from epoch to epoch since the shard and sample orders do. A source with fewer shards than slots
  leaves some slots empty and then supplies no batch: use resampled epochs for small sources.
* resampled (``samples_per_epoch``): open_clip's ``--dataset-resampled``. Every slot draws shards of
  a source with replacement; the source of each global batch is drawn with probability proportional
  to its size (``group_probabilities``, the map-style sampler's rule), and an epoch is
  ``samples_per_epoch // (batch_size x world_size)`` steps.

Modes, as for the map-style sampler: 'debias' (each batch one source, drawn at random), 'sequential'
(sources one after the other, shards and samples in order), 'shuffle' (batches mix sources: each
sample's source is drawn, the paper's random-sampling baseline).
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from zerovl.utils.rng import keyed_rng
from ..samplers import MODES, _Group, group_probabilities

# Random streams of one (seed, epoch), apart from those of DebiasedBatchSampler (0 and 1).
SHARD_ORDER, SCHEDULE, SAMPLE_ORDER, RESAMPLE, MIX = 10, 11, 12, 13, 14

# A batch is a list of (source, number of samples) pairs: one pair except in 'shuffle' mode.
Composition = Tuple[Tuple[int, int], ...]


@dataclass(frozen=True)
class ShardPlan:
    """What the plan depends on; ``state()`` is stored with a resume position and compared on load."""
    counts: Tuple[Tuple[int, ...], ...]  # per source, the sample count of each shard
    batch_size: int  # per rank
    world_size: int
    num_workers: int  # DataLoader workers; 0 and 1 both mean one reader per rank
    seed: int
    mode: str = 'debias'
    samples_per_epoch: Optional[int] = None  # set: resampled epochs of this many samples

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, got {self.mode!r}')
        if self.batch_size < 1 or self.world_size < 1 or self.num_workers < 0:
            raise ValueError(f'batch_size and world_size must be >= 1 and num_workers >= 0, got '
                             f'{self.batch_size}, {self.world_size}, {self.num_workers}')
        if self.samples_per_epoch is not None and self.samples_per_epoch < self.global_batch_size:
            raise ValueError(f'samples_per_epoch={self.samples_per_epoch} is less than one global batch '
                             f'({self.batch_size} x {self.world_size} ranks)')

    @property
    def resampled(self) -> bool:
        return self.samples_per_epoch is not None

    @property
    def workers(self) -> int:
        return max(1, self.num_workers)

    @property
    def slots(self) -> int:
        return self.world_size * self.workers

    @property
    def global_batch_size(self) -> int:
        return self.batch_size * self.world_size

    @property
    def source_sizes(self) -> List[int]:
        return [sum(shards) for shards in self.counts]

    def state(self) -> dict:
        return dict(batch_size=self.batch_size, world_size=self.world_size, num_workers=self.num_workers,
                    mode=self.mode, samples_per_epoch=self.samples_per_epoch, source_sizes=self.source_sizes,
                    num_shards=[len(shards) for shards in self.counts])

    # ------------------------------------------------------------------ shards of a slot

    def slot_shards(self, epoch: int, source: int, rank: int, worker: int) -> List[int]:
        """Non-resampled: the shards of ``source`` that (rank, worker) reads this epoch, in order.

        Which shards a slot holds is fixed (file order, dealt round-robin), only their order changes
        per epoch: the sample count of every slot, hence the epoch length, is the same every epoch, as
        the Runner's loop needs (it sizes the run from the first epoch's length).
        """
        slot = rank + self.world_size * worker
        shards = np.arange(len(self.counts[source]))[slot::self.slots]
        if self.mode == 'sequential':
            return shards.tolist()
        return keyed_rng(self.seed, epoch, SHARD_ORDER, source, slot).permutation(shards).tolist()

    def resampled_shard(self, epoch: int, source: int, rank: int, worker: int, draw: int) -> int:
        """Resampled: the shard of ``source`` that (rank, worker) opens as its ``draw``-th."""
        return int(keyed_rng(self.seed, epoch, RESAMPLE, source, rank, worker, draw).integers(len(self.counts[source])))

    def sample_order(self, epoch: int, source: int, rank: int, worker: int, draw: int, count: int) -> np.ndarray:
        """The order in which the ``draw``-th shard of a stream serves its ``count`` samples."""
        if self.mode == 'sequential':
            return np.arange(count)
        return keyed_rng(self.seed, epoch, SAMPLE_ORDER, source, rank, worker, draw).permutation(count)

    # ------------------------------------------------------------------ batches of a worker

    def worker_batches(self, epoch: int, worker: int) -> List[Composition]:
        """The sources of every batch worker ``worker`` produces this epoch; the same on every rank."""
        if self.resampled:
            return self._resampled_batches(epoch, worker)
        capacity = [min(self._slot_samples(epoch, source, rank, worker) for rank in range(self.world_size))
                    for source in range(len(self.counts))]
        if self.mode == 'shuffle':
            return self._mixed_batches(epoch, worker, capacity)
        per_source = np.repeat(np.arange(len(self.counts)), [size // self.batch_size for size in capacity])
        if self.mode == 'debias':
            per_source = keyed_rng(self.seed, epoch, SCHEDULE, worker).permutation(per_source)
        return [((int(source), self.batch_size),) for source in per_source]

    def _slot_samples(self, epoch: int, source: int, rank: int, worker: int) -> int:
        return sum(self.counts[source][shard] for shard in self.slot_shards(epoch, source, rank, worker))

    def _mixed_batches(self, epoch: int, worker: int, capacity: Sequence[int]) -> List[Composition]:
        remaining = np.asarray(capacity, dtype=np.int64)
        batches = []
        rng = keyed_rng(self.seed, epoch, MIX, worker)
        for _ in range(int(remaining.sum()) // self.batch_size):
            # Drawing without replacement from what is left: every sample of the capacity is used once.
            take = rng.multivariate_hypergeometric(remaining, self.batch_size)
            remaining -= take
            batches.append(_composition(take))
        return batches

    def steps_per_epoch(self) -> int:
        """Resampled: per-rank batches of an epoch."""
        return self.samples_per_epoch // self.global_batch_size

    def _resampled_batches(self, epoch: int, worker: int) -> List[Composition]:
        steps = self.steps_per_epoch()
        sizes = self.source_sizes
        groups = [_Group(str(index), 0, size) for index, size in enumerate(sizes)]
        probabilities = group_probabilities(groups, [1 if size else 0 for size in sizes], None)
        mine = range(worker, steps, self.workers)  # the DataLoader asks workers in turn
        if self.mode == 'shuffle':
            return [_composition(keyed_rng(self.seed, epoch, MIX, step).multinomial(self.batch_size, probabilities))
                    for step in mine]
        if self.mode == 'sequential':
            schedule = np.repeat(np.arange(len(sizes)), _apportion(steps, probabilities))
        else:
            schedule = keyed_rng(self.seed, epoch, SCHEDULE).choice(len(sizes), size=steps, p=probabilities)
        return [((int(schedule[step]), self.batch_size),) for step in mine]

    def epoch_length(self, epoch: int) -> int:
        """Per-rank batches of the epoch, the same on every rank."""
        if self.resampled:
            return self.steps_per_epoch()
        return sum(len(self.worker_batches(epoch, worker)) for worker in range(self.workers))


def _composition(take: np.ndarray) -> Composition:
    return tuple((int(source), int(count)) for source, count in enumerate(take) if count)


def _apportion(total: int, probabilities: np.ndarray) -> np.ndarray:
    """``total`` split into integers proportional to ``probabilities`` (largest remainders)."""
    exact = probabilities * total
    counts = np.floor(exact).astype(np.int64)
    counts[np.argsort(counts - exact)[:total - int(counts.sum())]] += 1
    return counts


def rank_batch_order(lengths: Sequence[int]) -> List[Tuple[int, int]]:
    """(worker, that worker's batch number) of each batch a rank's DataLoader yields: it asks its
    workers in turn and skips those that have finished (torch's order for iterable datasets)."""
    order, taken = [], [0] * len(lengths)
    while len(order) < sum(lengths):
        for worker, length in enumerate(lengths):
            if taken[worker] < length:
                order.append((worker, taken[worker]))
                taken[worker] += 1
    return order
