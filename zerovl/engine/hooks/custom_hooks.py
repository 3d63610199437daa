"""Hooks a tool adds to a config's ``custom_hooks`` unless the config already has them."""
from typing import Mapping, Type

from mmengine.hooks import Hook


def names_hook(entry, hook_class: Type[Hook]) -> bool:
    """Whether a ``custom_hooks`` entry is ``hook_class``: an instance, or a config dict naming it plainly
    or with its scope (``'zerovl.EvalProgressHook'``)."""
    if isinstance(entry, hook_class):
        return True
    return isinstance(entry, Mapping) and str(entry.get('type', '')).split('.')[-1] == hook_class.__name__


def ensure_custom_hook(cfg, hook_class: Type[Hook]) -> None:
    """Append ``dict(type=hook_class.__name__)`` to ``cfg.custom_hooks`` unless an entry names it already."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(names_hook(entry, hook_class) for entry in hooks):
        hooks.append(dict(type=hook_class.__name__))
        cfg.custom_hooks = hooks
