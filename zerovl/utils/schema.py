"""Config keys checked where zerovl owns the schema.

A misspelt key in a Python config (``--cfg-options model.dga.sub_batch=32``) is otherwise merged in
silently: a dict read with ``.get`` ignores it and the run trains with the old value, exit 0. A
registered class with an explicit signature raises ``TypeError`` instead, but the message names a
Python argument, not the config key. Both go through :func:`check_keys`, which names the key and the
nearest valid one.
"""
import difflib
import inspect
from typing import Callable, Iterable, Mapping, Optional, Tuple


class ConfigKeyError(KeyError):
    """An unknown config key; ``str()`` is the plain message (KeyError would quote it)."""

    def __str__(self) -> str:
        return str(self.args[0])


def unknown_key_message(key: str, allowed: Iterable[str], where: str) -> str:
    """``model.dga.sub_batch: unknown key (did you mean 'sub_batch_size'?); valid keys: ...``."""
    allowed = sorted(allowed)
    near = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f" (did you mean '{near[0]}'?)" if near else ''
    return f"{where}.{key}: unknown key{hint}; valid keys: {', '.join(allowed) or '(none)'}"


def check_keys(given: Mapping, allowed: Iterable[str], where: str) -> None:
    """Raise :class:`ConfigKeyError` for the first key of ``given`` not in ``allowed``.

    ``where`` is the config path of ``given`` (``'model.dga'``), so the message names the full key.
    """
    allowed = set(allowed)
    for key in given:
        if key not in allowed:
            raise ConfigKeyError(unknown_key_message(str(key), allowed, where))


def keyword_names(func: Callable, skip: Tuple[str, ...] = ('self',)) -> Tuple[str, ...]:
    """The named parameters of ``func`` that a keyword can set (not ``*args`` / ``**kwargs``)."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(p.name for p in inspect.signature(func).parameters.values() if p.kind in kinds and p.name not in skip)


def accepted_kwargs(func: Callable) -> Optional[Tuple[str, ...]]:
    """Keyword names ``func`` accepts, or None when it takes ``**kwargs`` (then it checks by itself)."""
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(func).parameters.values()):
        return None
    return keyword_names(func)


def check_registered_keys(cfg: Optional[Mapping], registry, where: str) -> None:
    """Check the keys of a ``dict(type=...)`` config against its registered class's constructor, before
    it is built (building would fail with a ``TypeError`` that names no config key). ``type`` and
    classes that take ``**kwargs`` are left alone; an unknown ``type`` is the registry's to report."""
    if not cfg or 'type' not in cfg or not isinstance(cfg['type'], str):
        return
    cls = registry.get(cfg['type'])
    if cls is None:
        return
    allowed = accepted_kwargs(cls.__init__ if inspect.isclass(cls) else cls)
    if allowed is not None:
        check_keys({key: value for key, value in cfg.items() if key != 'type'}, allowed, where)
