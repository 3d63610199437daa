"""Helpers for zerovl's tests and for projects' tests: gloo process groups and seconds-scale configs."""
from .distributed import find_free_port, run_distributed
from .scripts import load_script
from .tiny_config import point_config_at, tiny_demo_config

__all__ = ['find_free_port', 'run_distributed', 'point_config_at', 'tiny_demo_config', 'load_script']
