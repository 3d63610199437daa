from .iteration_seed_hook import IterationSeedHook, iteration_seed
from .message_hub_state_hook import MessageHubStateHook

__all__ = ['IterationSeedHook', 'MessageHubStateHook', 'iteration_seed']
