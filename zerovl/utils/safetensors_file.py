"""Weights written as safetensors (no pickle), atomically."""
import os
from typing import Mapping

import torch
from safetensors.torch import save_file

from .atomic_file import partial_path, publish


def save_safetensors(state_dict: Mapping[str, torch.Tensor], path: str) -> str:
    """Write atomically: an interrupted run never leaves a truncated file that looks like weights."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    partial = partial_path(path)
    save_file({key: value.contiguous() for key, value in state_dict.items()}, partial)
    # safetensors creates its files owner-only (0600); weights are no secret, and a shared data/ folder
    # must let other users' runs read them.
    os.chmod(partial, 0o644)
    publish(partial, path)
    return path
