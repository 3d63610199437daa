"""Makes the randomness of every training iteration a pure function of (seed, rank, iteration)."""
import hashlib
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from zerovl.registry import HOOKS
from zerovl.utils.dist import get_rank


def iteration_seed(seed: int, rank: int, iteration: int, stream: str = 'iter') -> int:
    """A well-mixed 32-bit seed; iterations, ranks and streams get unrelated generators."""
    digest = hashlib.blake2b(f'{seed}:{rank}:{iteration}:{stream}'.encode(), digest_size=4).digest()
    return int.from_bytes(digest, 'little')


def seed_everything(seed: int) -> None:
    """torch (CPU and every CUDA device), numpy's and Python's global generators."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


@HOOKS.register_module()
class IterationSeedHook(Hook):
    """Reseeds all global generators at the start of each epoch and before each training iteration.

    Dropout masks, and the augmentations of batches loaded in the main process, then depend only on the
    config seed, the rank and the iteration, not on what ran before (validation, checkpointing, a
    restart): a run resumed at an epoch boundary repeats the uninterrupted one exactly, without storing
    RNG states. This is ZeroVL's ``stable_random: step`` with the rank mixed in, so ranks do not share
    dropout masks. (The loader fetches batch i+1 after iteration i's reseed; the epoch's first batch is
    fetched after the epoch reseed, which uses a separate stream so that no two batches share draws.)
    """

    priority = 'VERY_HIGH'

    def __init__(self, seed: int = None):
        self.seed = seed

    def _seed(self, runner) -> int:
        return self.seed if self.seed is not None else runner.seed

    def before_train_epoch(self, runner) -> None:
        seed_everything(iteration_seed(self._seed(runner), get_rank(), runner.iter, stream='epoch'))

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        seed_everything(iteration_seed(self._seed(runner), get_rank(), runner.iter))
