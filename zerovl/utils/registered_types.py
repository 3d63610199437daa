"""Allow only zerovl's registered types in a config read from a file someone else wrote.

MMEngine builds ``dict(type=...)`` through ``Registry.get``, which imports any dotted name it does not know
(``'os.system'`` -> ``os.system``), and ``build_from_cfg`` calls a ``type`` that is a callable. For our own
Python configs that is a feature (they are code anyway); for a JSON file such as an export's
``zerovl_model.json`` it means that opening the file runs whatever it names. So before anything in such a
config is built, every ``type`` in it must be a plain name registered in the right zerovl registry.

The check never calls ``Registry.get`` on the name and imports nothing the config names: it only reads the
``module_dict`` of zerovl's own registry, after that registry has imported zerovl's modules (its
``locations``), which are ours. Names registered only in MMEngine's root registries (``Compose``,
``RandomChoice``) are refused too: the lookup there is one step away from the import fallback. A plugin
(``projects/``) that registers into zerovl's registries is accepted once it has been imported.
"""
from typing import Any, Iterator, Tuple

from mmengine.registry import Registry


class UnregisteredTypeError(ValueError):
    """A config names a ``type`` that is not a registered zerovl type; the message gives the key path."""


def join(path: str, key) -> str:
    return f'{path}.{key}' if path else str(key)


def iter_key(cfg: Any, wanted: str, path: str = '') -> Iterator[Tuple[str, Any]]:
    """(key path, value) of every ``wanted`` key in nested dicts and lists, depth first, in order."""
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            if key == wanted:
                yield join(path, key), value
            else:
                yield from iter_key(value, wanted, join(path, key))
    elif isinstance(cfg, (list, tuple)):
        for index, value in enumerate(cfg):
            yield from iter_key(value, wanted, join(path, index))


def registered_names(registry: Registry) -> frozenset:
    """The names registered in ``registry`` itself (not its parents), after it imported zerovl's modules."""
    registry.import_from_location()
    return frozenset(registry.module_dict)


def check_registered_types(cfg: Any, registry: Registry, source: str, path: str) -> None:
    """Raise :class:`UnregisteredTypeError` unless every ``type`` under ``cfg`` is a registered name.

    Args:
        cfg: the config part (dict or list) as read from the file.
        registry: the zerovl registry its types belong to (MODELS for a model, TRANSFORMS for a pipeline).
        source: the file, for the message.
        path: the key path of ``cfg`` in that file, e.g. ``'model'`` or ``'test_pipeline'``.
    """
    names = registered_names(registry)
    for key_path, value in iter_key(cfg, 'type', path):
        if isinstance(value, str) and value in names:
            continue
        why = ('a dotted name would be imported' if isinstance(value, str) and '.' in value else
               'only a type name (a string) is allowed' if not isinstance(value, str) else
               'it is not registered here')
        raise UnregisteredTypeError(
            f'{source}: {key_path}={value!r} is not a registered zerovl {registry.name} type ({why}); '
            f'refused before anything is imported or built. Registered: {", ".join(sorted(names))}. A plugin\'s '
            'type is accepted once its package is imported.')
