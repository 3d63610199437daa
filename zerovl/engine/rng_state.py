"""Capture and restore torch's random state, so a forward pass can be replayed with the same dropout."""
from typing import List, Optional

import torch


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
