"""Registers every zerovl module and makes ``zerovl`` the default registry scope."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    import zerovl.datasets  # noqa: F401
    import zerovl.engine  # noqa: F401
    import zerovl.evaluation  # noqa: F401
    import zerovl.models  # noqa: F401

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None:
        DefaultScope.get_instance('zerovl', scope_name='zerovl')
    elif current.scope_name != 'zerovl':
        # Another toolbox's scope is active (e.g. in a notebook); open a uniquely named zerovl one.
        warnings.warn(f'default scope was {current.scope_name!r}; switching to "zerovl"')
        DefaultScope.get_instance(f'zerovl-{datetime.datetime.now()}', scope_name='zerovl')
