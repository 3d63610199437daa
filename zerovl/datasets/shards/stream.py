"""One reader's stream of samples from one source: the shards the plan gives its slot, opened one at
a time, each served in the plan's sample order. Its position (shard draw, sample offset) is all a
resumed run needs to continue it exactly, bad samples included, since the order is recomputed."""
from typing import List, Optional, Tuple

from ..errors import ShardSampleError, TooManyBadSamplesError
from .bad_inputs import ShardBadInputPolicy
from .layout import ShardInfo
from .plan import ShardPlan
from .tar_reader import TarSample, TarShard

# Shards opened in a row without a single sample (missing, empty or unreadable) before the source is
# declared broken as a whole rather than damaged here and there.
MAX_EMPTY_SHARDS = 100


class SourceStream:
    """Samples of ``source`` for (rank, worker) in ``epoch``, starting at ``position``.

    Non-resampled, the slot's shards are read in order; a stream asked for more (bad samples had to be
    replaced) reads them again in a new sample order. Resampled, each draw picks a shard at random.
    """

    def __init__(self, plan: ShardPlan, shards: List[ShardInfo], epoch: int, source: int, rank: int,
                 worker: int, policy: ShardBadInputPolicy, position: Tuple[int, int] = (0, 0)) -> None:
        self.plan, self.shards, self.policy = plan, shards, policy
        self.epoch, self.source, self.rank, self.worker = epoch, source, rank, worker
        self.draw, self.offset = (int(value) for value in position)
        self._slot = None if plan.resampled else plan.slot_shards(epoch, source, rank, worker)
        self._open: Optional[Tuple[int, TarShard, list]] = None

    @property
    def position(self) -> List[int]:
        return [self.draw, self.offset]

    def _shard_of_draw(self, draw: int) -> ShardInfo:
        if self._slot is None:
            return self.shards[self.plan.resampled_shard(self.epoch, self.source, self.rank, self.worker, draw)]
        if not self._slot:
            raise RuntimeError(f'source {self.source} has no shard for rank {self.rank}, worker {self.worker}')
        return self.shards[self._slot[draw % len(self._slot)]]

    def _samples_of_draw(self) -> list:
        """The current draw's samples in serving order; [] when its shard cannot be read."""
        if self._open is not None and self._open[0] == self.draw:
            return self._open[2]
        self.close()
        info = self._shard_of_draw(self.draw)
        try:
            shard = TarShard(info.path)
        except OSError as error:
            self.policy.lost_shard(ShardSampleError(f'shard cannot be opened ({error.strerror or error}); '
                                                    f'its stats declare {info.count} samples', info.path),
                                   info.count)
            self._open = (self.draw, None, [])
            return []
        listing = shard.listing
        if listing.truncated:
            self.policy.lost_shard(ShardSampleError(f'{listing.truncated}; {len(listing.samples)} of the '
                                                    f'{info.count} declared samples are readable', info.path),
                                   info.count - len(listing.samples))
        order = self.plan.sample_order(self.epoch, self.source, self.rank, self.worker, self.draw,
                                       len(listing.samples))
        self._open = (self.draw, shard, [listing.samples[index] for index in order])
        return self._open[2]

    def next_raw(self) -> Tuple[TarShard, TarSample]:
        """The next sample (not yet decoded), moving on to the next shard when this one is used up."""
        for _ in range(MAX_EMPTY_SHARDS):
            samples = self._samples_of_draw()
            if self.offset < len(samples):
                self.offset += 1
                return self._open[1], samples[self.offset - 1]
            self.draw, self.offset = self.draw + 1, 0
        raise TooManyBadSamplesError(
            f'source {self.source}: {MAX_EMPTY_SHARDS} shards in a row gave no sample (rank {self.rank}, '
            f'worker {self.worker}); the shard folder looks broken as a whole. Counts in this process: '
            f'{self.policy.counts}')

    def close(self) -> None:
        if self._open is not None and self._open[1] is not None:
            self._open[1].close()
        self._open = None
