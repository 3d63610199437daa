"""Every way zerovl makes randomness reproducible, in one place.

* :func:`keyed_rng`: a numpy generator that depends only on integer keys (the sampler's batch plan per
  (seed, epoch), the mixup decision per (seed, step)): no global state, identical on every rank.
* :func:`iteration_seed` and :func:`seed_everything`: the global generators reseeded per
  (seed, rank, iteration), so a resumed run draws what the uninterrupted one drew.
* :class:`RngState`: torch's generators captured and restored, so DGA's second pass replays the first.
"""
import hashlib
import random
from typing import List, Optional

import numpy as np
import torch


def keyed_rng(*keys: int) -> np.random.Generator:
    """A generator that depends only on ``keys``; SeedSequence mixes them, so neighbouring epochs or
    steps get unrelated streams. Keys are folded to non-negative ints, which SeedSequence needs."""
    return np.random.default_rng([int(key) % (1 << 63) for key in keys])


def iteration_seed(seed: int, rank: int, iteration: int, stream: str = 'iter') -> int:
    """A well-mixed 32-bit seed; iterations, ranks and streams get unrelated generators."""
    digest = hashlib.blake2b(f'{seed}:{rank}:{iteration}:{stream}'.encode(), digest_size=4).digest()
    return int.from_bytes(digest, 'little')


def seed_everything(seed: int) -> None:
    """torch (CPU and every CUDA device), numpy's and Python's global generators."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


class RngState:
    """A snapshot of torch's CPU generator and, when CUDA is in use, every CUDA device's generator.

    All devices are captured rather than only those holding the inputs: a tower may run a layer on
    another GPU, and missing one would silently break the replay.
    """

    def __init__(self, cpu: torch.Tensor, cuda: Optional[List[torch.Tensor]]):
        self.cpu = cpu
        self.cuda = cuda

    @classmethod
    def capture(cls) -> 'RngState':
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
        return cls(torch.get_rng_state(), cuda)

    def restore(self) -> None:
        # Generator states are host ByteTensors whatever generator they describe; a state that travelled
        # through a checkpoint loaded onto a GPU must come back to the host first.
        torch.set_rng_state(self.cpu.cpu())
        if self.cuda is not None:
            torch.cuda.set_rng_state_all([state.cpu() for state in self.cuda])
