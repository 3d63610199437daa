from .checkpoint import UnsafeCheckpointError, register_safe_loader, safe_load, trust_checkpoints
from .distributed import init_cpu_process_group, prepare_distributed
from .hooks import *  # noqa: F401,F403
from .model_wrapper import ZeroVLDistributedDataParallel
from .optimizers import *  # noqa: F401,F403
from .prompt_iter_loop import PromptIterBasedTrainLoop
from .resumable_loop import ResumableEpochBasedTrainLoop

# Loading is safe by default for anyone who uses zerovl: every local checkpoint goes through safe_load.
register_safe_loader()

__all__ = [
    'UnsafeCheckpointError', 'register_safe_loader', 'safe_load', 'trust_checkpoints',
    'init_cpu_process_group', 'prepare_distributed', 'ResumableEpochBasedTrainLoop',
    'PromptIterBasedTrainLoop',
    'ZeroVLDistributedDataParallel'
]
