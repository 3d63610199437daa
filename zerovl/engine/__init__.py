from zerovl.utils.checkpoint import UnsafeCheckpointError, register_safe_loader, safe_load, trust_checkpoints
from .distributed import init_cpu_process_group, prepare_distributed
from .hooks import *  # noqa: F401,F403
from .model_wrapper import ZeroVLDistributedDataParallel
from .optimizers import *  # noqa: F401,F403
from .prompt_iter_loop import PromptIterBasedTrainLoop
from .resumable_loop import ResumableEpochBasedTrainLoop
from .resume_checkpoint import choose_resume_checkpoint, install_resume_resolver
from .tensorboard_backend import ConfigAsJSONTensorboardVisBackend

# Loading is safe by default for anyone who uses zerovl: every local checkpoint goes through safe_load.
register_safe_loader()
# Auto-resume picks the newest complete checkpoint and reads last_checkpoint relative to the work dir.
install_resume_resolver()

__all__ = [
    'UnsafeCheckpointError', 'register_safe_loader', 'safe_load', 'trust_checkpoints',
    'init_cpu_process_group', 'prepare_distributed', 'ResumableEpochBasedTrainLoop',
    'PromptIterBasedTrainLoop', 'choose_resume_checkpoint', 'install_resume_resolver',
    'ZeroVLDistributedDataParallel', 'ConfigAsJSONTensorboardVisBackend'
]
