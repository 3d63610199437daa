"""Checking ``--cfg-options`` values against the config they override.

MMEngine's ``DictAction`` turns every value it cannot parse as a number, bool, None or list into a string:
``optim_wrapper.optimizer.lr=fast`` becomes ``lr='fast'``, and the mistake surfaces much later as a
``TypeError`` deep inside an optimizer or a loop that names no key. Where the config itself holds a number
or a bool, a string override is a typo, and it is refused at once, naming the key, the config file and
the type expected.
"""
from typing import Any, Optional, Tuple

from mmengine.config import Config

_MISSING = object()


class ConfigOverrideError(ValueError):
    """A ``--cfg-options`` value does not fit the type of the value it overrides."""


def lookup(cfg: Config, dotted_key: str) -> Any:
    """The value at ``dotted_key`` (``a.b.0.c``: list items by index, as ``merge_from_dict`` allows), or
    ``_MISSING`` when the config does not have it."""
    node: Any = cfg
    for part in dotted_key.split('.'):
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif hasattr(node, 'keys') and part in node:
            node = node[part]
        else:
            return _MISSING
    return node


def expected_type(base: Any, override: Any) -> Optional[str]:
    """The type ``override`` should have had, or None when it fits ``base``: a string where the config
    holds a bool or a number is the one mistake refused (everything else may be deliberate)."""
    if not isinstance(override, str):
        return None
    if isinstance(base, bool):
        return 'a bool (True or False)'
    if isinstance(base, int):
        return 'an int'
    if isinstance(base, float):
        return 'a float'
    return None


def check_overrides(cfg: Config, cfg_options: dict, config_file: str) -> None:
    """Raise :class:`ConfigOverrideError` for the first override whose value does not fit its key."""
    for key, value in cfg_options.items():
        mismatch = _mismatch(cfg, key, value)
        if mismatch:
            base, wanted = mismatch
            raise ConfigOverrideError(
                f'--cfg-options {key}={value}: {config_file} sets {key} = {base!r}, so {key} must be '
                f'{wanted}; got the string {value!r}')


def _mismatch(cfg: Config, key: str, value: Any) -> Optional[Tuple[Any, str]]:
    base = lookup(cfg, key)
    if base is _MISSING:
        return None
    wanted = expected_type(base, value)
    return (base, wanted) if wanted else None
