"""``compile=True`` on a tower: torch.compile of the wrapped model, in place."""
from typing import Union

from torch import nn


def compile_options(compile: Union[bool, dict], key: str) -> dict:
    """The keyword arguments of ``nn.Module.compile`` for a tower's ``compile`` switch, or ``{}`` for off.

    ``True`` compiles with static shapes (``dynamic=False``): DGA feeds every sub-batch with the same
    shape, so one graph serves the whole run, and dynamic shapes would only trade kernel speed for
    recompiles that never happen. A dict passes its keys (``backend``, ``mode``, ``dynamic``, ...) on.
    """
    if compile is False or compile is None:
        return {}
    if compile is True:
        return dict(dynamic=False)
    if isinstance(compile, dict):
        return dict(dict(dynamic=False), **compile)
    raise TypeError(f'{key} must be True, False or a dict of torch.compile arguments, got {compile!r}')


def compile_in_place(module: nn.Module, compile: Union[bool, dict], key: str) -> None:
    """Compile ``module``'s forward with ``nn.Module.compile``, not ``torch.compile(module)``.

    The in-place form keeps the module object and its parameter names: ``torch.compile(module)`` returns
    an ``OptimizedModule`` whose state dict prefixes every key with ``_orig_mod.``, and checkpoints, the
    converters and strict loading would then see another model.
    """
    options = compile_options(compile, key)
    if options:
        module.compile(**options)
