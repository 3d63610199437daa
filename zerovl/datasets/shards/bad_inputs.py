"""The bad-input policy on shards: the map-style datasets' policy (bad_input_policy.py), plus what only
shards have: a missing or truncated shard loses many samples at once, and they all count toward the
``max_skip_ratio`` limit (the denominator is the samples the ``_stats.json`` files declare)."""
from ..bad_input_policy import BadInputPolicy
from ..errors import ShardSampleError


class ShardBadInputPolicy(BadInputPolicy):
    """Bad samples are keyed by (shard, key), lost shards by their path, each counted once per process."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.samples_lost = 0  # samples of missing or truncated shards, beyond one per shard

    @property
    def num_bad(self) -> int:
        return super().num_bad + self.samples_lost

    def bad_sample(self, error: ShardSampleError) -> None:
        """Raise (on_error='raise') or count and log a bad sample, once per process."""
        if self.on_error == 'raise':
            raise error
        if not self.is_known_bad((error.shard, error.key)):
            self.record_bad_sample((error.shard, error.key), error)

    def lost_shard(self, error: ShardSampleError, lost: int) -> None:
        """Raise, or count ``lost`` samples of a missing (or cut short) shard, once per process."""
        if self.on_error == 'raise':
            raise error
        if self.is_known_bad(error.shard):
            return
        self.samples_lost += max(0, lost - 1)  # record_bad_sample counts the first
        self.record_bad_sample(error.shard, error)

    @property
    def counts(self) -> dict:
        return dict(super().counts, samples_lost=self.samples_lost)
