"""Saves the train batch sampler's position in checkpoints and puts it back on resume."""
from typing import Optional

from mmengine.hooks import Hook

from zerovl.registry import HOOKS
from ..epoch_position import batches_done, resumable_sampler

CHECKPOINT_KEY = 'train_sampler'


@HOOKS.register_module()
class SamplerStateHook(Hook):
    """Stores ``batch_sampler.state_dict()`` under ``checkpoint['train_sampler']`` and loads it when a
    run resumes from that checkpoint, so that ``ResumableEpochBasedTrainLoop`` continues a mid-epoch
    checkpoint at its next batch.

    The saved state is plain data (ints, floats, strings, lists): the epoch, the position, the seed and
    what the batch plan depends on (mode, dataset sizes, global batch size, dataset probabilities). The
    plan itself, including which dataset each debiased batch comes from, is a pure function of these,
    so it is recomputed rather than stored, and loading refuses a state whose plan inputs differ from
    the current run's (a different dataset or batch size would silently skip or repeat data).

    The position saved is the loop's count of trained batches (from the checkpoint's epoch and
    iteration), not the sampler's own count, which runs ahead when workers prefetch. Loaders without a
    resumable batch sampler are left alone.

    A streaming dataset that batches itself (ShardImageTextDataset, no batch sampler) is handled the
    same way, plus two calls only it needs: ``set_epoch`` at every epoch start (SamplerSeedHook, the
    default ``sampler_seed`` hook, seeds samplers and leaves a loader without one to this hook),
    and ``observe_batch`` after every trained batch, from which it learns where the stream of the
    worker that made the batch stood: those positions, not a count, are what it saves.
    """

    def __init__(self) -> None:
        self._loaded: Optional[dict] = None

    def before_train_epoch(self, runner) -> None:
        source = self._streaming_dataset(runner)
        if source is not None:
            source.set_epoch(runner.epoch)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        source = self._streaming_dataset(runner)
        if source is not None:
            source.observe_batch(data_batch)

    @staticmethod
    def _streaming_dataset(runner):
        source = resumable_sampler(runner.train_dataloader)
        return source if hasattr(source, 'observe_batch') else None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        loader = runner.train_dataloader
        sampler = resumable_sampler(loader)
        if sampler is None:
            return
        meta = checkpoint['meta']
        position = batches_done(meta['iter'], meta['epoch'], len(loader))
        checkpoint[CHECKPOINT_KEY] = dict(sampler.state_dict(), epoch=int(meta['epoch']), position=position)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # Loading happens before the loop's counters are set from the checkpoint; whether this load
        # is a resume is only known in before_train.
        meta = checkpoint.get('meta') or {}
        state = checkpoint.get(CHECKPOINT_KEY)
        self._loaded = None if state is None else dict(state=state, epoch=meta.get('epoch'),
                                                       iter=meta.get('iter'))

    def before_train(self, runner) -> None:
        loaded, self._loaded = self._loaded, None
        # Only a resume puts the loop at the checkpoint's counters; ``load_from`` without resume
        # (fine-tuning) starts at 0, and then the sampler must start a fresh epoch too.
        if loaded is None or (runner.epoch, runner.iter) != (loaded['epoch'], loaded['iter']):
            return
        sampler = resumable_sampler(runner.train_dataloader)
        if sampler is not None:
            sampler.load_state_dict(loaded['state'])
