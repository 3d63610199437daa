"""Makes the randomness of every training iteration a pure function of (seed, rank, iteration)."""
import hashlib

import torch
from mmengine.hooks import Hook

from zerovl.registry import HOOKS
from zerovl.utils.dist import get_rank


def iteration_seed(seed: int, rank: int, iteration: int) -> int:
    """A well-mixed 63-bit seed; consecutive iterations and ranks get unrelated streams."""
    digest = hashlib.blake2b(f'{seed}:{rank}:{iteration}'.encode(), digest_size=8).digest()
    return int.from_bytes(digest, 'little') >> 1


@HOOKS.register_module()
class IterationSeedHook(Hook):
    """Reseeds torch (CPU and every CUDA device) before each training iteration.

    Dropout masks and any other in-model randomness then depend only on the config seed, the rank and
    the iteration, not on what ran before (validation, checkpointing, a restart). A resumed run therefore
    reproduces the uninterrupted one exactly, from any iteration, without storing RNG states. This is the
    idea of ZeroVL's ``stable_random: step``, with the rank mixed in so ranks do not share masks.
    """

    priority = 'VERY_HIGH'

    def __init__(self, seed: int = None):
        self.seed = seed

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        seed = self.seed if self.seed is not None else runner.seed
        torch.manual_seed(iteration_seed(seed, get_rank(), runner.iter))
