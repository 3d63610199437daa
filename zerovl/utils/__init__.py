from .dist import all_gather_detached, all_gather_with_grad, get_rank, get_world_size, is_distributed
from .config import load_config
from .setup_env import register_all_modules

__all__ = [
    'all_gather_detached', 'all_gather_with_grad', 'get_rank', 'get_world_size', 'is_distributed',
    'load_config', 'register_all_modules'
]
