"""MMEngine's iteration-based loop without its two-second nap at every pass over the data.

``IterBasedTrainLoop`` wraps the dataloader in ``_InfiniteDataloaderIterator``, which sleeps 2 s before
restarting the dataloader, against a deadlock of worker processes at the switch (mmengine 0.10.7,
mmengine/runner/loops.py). With in-process loading (``num_workers=0``) there is no worker to deadlock, and on
a small dataset the naps dominate: the reproduction's data-scarce arms pass over their 630 pairs every 5
steps, and slept 0.4 s of every 0.8 s step. Loaders with workers keep MMEngine's behaviour.
"""
from mmengine.runner.loops import IterBasedTrainLoop, _InfiniteDataloaderIterator

from zerovl.registry import LOOPS
from .run_start import prepare_training


def set_loader_epoch(dataloader, epoch: int) -> None:
    """What MMEngine does at a restart: tell the sampler (or the batch sampler's sampler) the new epoch."""
    sampler = getattr(dataloader, 'sampler', None)
    if hasattr(sampler, 'set_epoch'):
        sampler.set_epoch(epoch)
        return
    batch_sampler = getattr(dataloader, 'batch_sampler', None)
    if hasattr(getattr(batch_sampler, 'sampler', None), 'set_epoch'):
        batch_sampler.sampler.set_epoch(epoch)


class PromptRestartIterator(_InfiniteDataloaderIterator):
    """Restarts an exhausted in-process dataloader at once, in the next epoch."""

    def __next__(self):
        if getattr(self._dataloader, 'num_workers', 0) > 0:
            return super().__next__()
        try:
            return next(self._iterator)
        except StopIteration:
            self._epoch += 1
            set_loader_epoch(self._dataloader, self._epoch)
            self._iterator = iter(self._dataloader)
            return next(self._iterator)


@LOOPS.register_module()
class PromptIterBasedTrainLoop(IterBasedTrainLoop):
    """``IterBasedTrainLoop`` whose dataloader restarts without sleeping when it loads in-process; like
    ``ResumableEpochBasedTrainLoop``, it fits and checks the schedule and DGA when built."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.dataloader_iterator = PromptRestartIterator(self.dataloader)
        prepare_training(self)
