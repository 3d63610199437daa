from .atomic_checkpoint_hook import AtomicCheckpointHook
from .eval_progress_hook import EvalProgressHook
from .iteration_seed_hook import IterationSeedHook
from .message_hub_state_hook import MessageHubStateHook
from .sampler_seed_hook import SamplerSeedHook
from .sampler_state_hook import SamplerStateHook
from .strict_load_hook import StrictLoadHook, ensure_strict_load_hook
from .training_curves_hook import TrainingCurvesHook

__all__ = ['AtomicCheckpointHook', 'EvalProgressHook', 'IterationSeedHook', 'MessageHubStateHook',
           'SamplerSeedHook', 'SamplerStateHook', 'StrictLoadHook', 'TrainingCurvesHook', 'ensure_strict_load_hook']
