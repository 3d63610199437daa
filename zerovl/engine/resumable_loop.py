"""An epoch-based training loop that continues an interrupted epoch from its next batch."""
import logging

from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop

from zerovl.registry import LOOPS
from .epoch_position import batches_done, starts_at
from .run_start import prepare_training


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` that resumes in the middle of an epoch without replaying it.

    MMEngine's loop restarts an interrupted epoch from its first batch but keeps the resumed iteration
    count: after a resume at iteration k of an epoch, the first k batches are trained twice and the run
    ends k iterations past ``max_iters`` (the learning-rate schedule overshoots).

    Here the epoch continues at batch k (``batches_done``): the sampler, whose state
    ``SamplerStateHook`` restored from the checkpoint, yields only batches k, k+1, ..., and they are
    numbered from k, so ``batch_idx`` and ``runner.iter`` are those of the uninterrupted run and the
    cost of resuming does not grow with k. A checkpoint taken after an epoch's last iteration (k equal
    to the epoch length) runs that epoch's end hooks (validation, epoch checkpoint) with no batches.

    A sampler that cannot start mid-epoch (the DataLoader's own BatchSampler over DefaultSampler)
    gets the first k batches loaded and dropped: the data order is still exact, but loading costs k
    batches, and batches augmented in the main process may draw differently (a warning says so).

    Once built, it fits the schedule to the run and checks it, and checks DGA against the batch size
    (``prepare_training``), before any batch is read.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        prepare_training(self)

    def run_epoch(self) -> None:
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        start = batches_done(self._iter, self._epoch, len(self.dataloader))
        for idx, data_batch in enumerate(self._batches_from(start), start):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def _batches_from(self, start: int):
        """An iterator over the current epoch's batches ``start``, ``start + 1``, ..."""
        in_place = starts_at(self.dataloader, self._epoch, start)  # asked before iter(), see starts_at
        batches = iter(self.dataloader)
        if in_place:
            return batches
        print_log(f'The train sampler cannot start epoch {self._epoch + 1} at batch {start}: loading and '
                  f'dropping {start} batches to get there. Use DebiasedBatchSampler with SamplerStateHook '
                  'to resume without loading them (and with the same augmentation draws).',
                  logger='current', level=logging.WARNING)
        for _ in range(start):
            next(batches)
        return batches
