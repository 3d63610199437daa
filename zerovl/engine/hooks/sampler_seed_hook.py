"""MMEngine's per-epoch ``set_epoch`` on the train sampler, for every loader zerovl trains from."""
from mmengine.hooks import DistSamplerSeedHook

from zerovl.registry import HOOKS


@HOOKS.register_module()
class SamplerSeedHook(DistSamplerSeedHook):
    """``DistSamplerSeedHook`` (``set_epoch`` on ``sampler`` or on ``batch_sampler.sampler`` at each epoch
    start) that also accepts a loader with neither: a dataset that batches itself (``batch_size=None``,
    ShardImageTextDataset), whose epoch ``SamplerStateHook`` sets. MMEngine's hook reads
    ``batch_sampler.sampler`` there and fails at the first epoch with an AttributeError, so every config
    that streamed shards had to switch it off by hand."""

    def before_train_epoch(self, runner) -> None:
        loader = runner.train_loop.dataloader
        if getattr(loader, 'batch_sampler', None) is None and not hasattr(getattr(loader, 'sampler', None),
                                                                          'set_epoch'):
            return
        super().before_train_epoch(runner)
