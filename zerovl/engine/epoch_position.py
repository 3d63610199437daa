"""Where a training epoch stands, and the sampler that can start an epoch there.

Every epoch of an epoch-based loop runs exactly ``len(train_dataloader)`` iterations, so the number of
batches the loop has trained in the current epoch follows from the two counters a checkpoint's meta
holds: ``iter - epoch * len(train_dataloader)``. It counts batches trained, not batches the DataLoader
has asked its sampler for: with workers the loader asks ahead (prefetch), so the sampler's own count
runs ahead of training.
"""
from typing import Optional


def batches_done(iteration: int, epoch: int, epoch_length: int) -> int:
    """Batches of epoch ``epoch`` already trained when ``iteration`` iterations are done in total."""
    done = iteration - epoch * epoch_length
    if not 0 <= done <= epoch_length:
        raise RuntimeError(
            f'iteration {iteration} does not lie in epoch {epoch} of {epoch_length} iterations: the '
            'checkpoint was saved with a different number of batches per epoch (dataset, batch size or '
            'number of ranks changed), or by a loop that does not run whole epochs')
    return done


def resumable_sampler(dataloader) -> Optional[object]:
    """What decides the loader's order, if it can start an epoch at a given batch (``state_dict`` with
    ``epoch`` and ``position``, and ``load_state_dict``): the batch sampler (DebiasedBatchSampler), or
    an iterable dataset that batches itself (ShardImageTextDataset, which also needs to see each
    trained batch: ``observe_batch``); else None."""
    batch_sampler = getattr(dataloader, 'batch_sampler', None)
    if hasattr(batch_sampler, 'state_dict') and hasattr(batch_sampler, 'load_state_dict'):
        return batch_sampler
    dataset = getattr(dataloader, 'dataset', None)
    if batch_sampler is None and all(hasattr(dataset, name) for name in ('state_dict', 'load_state_dict',
                                                                          'observe_batch', 'set_epoch')):
        return dataset
    return None


def starts_at(dataloader, epoch: int, position: int) -> bool:
    """Whether the loader's next iterator over ``epoch`` begins at batch ``position``. Ask before
    creating the iterator: with workers, creating it makes the sampler hand out batches at once."""
    sampler = resumable_sampler(dataloader)
    if sampler is None:
        return position == 0
    state = sampler.state_dict()
    return state['epoch'] == epoch and state['position'] == position
