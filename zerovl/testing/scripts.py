"""Import a tool script (``tools/`` is no package) as a module, so tests run its ``main`` in-process."""
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Optional, Union


def load_script(path: Union[str, Path], name: Optional[str] = None, register: bool = False) -> ModuleType:
    """The module of the script at ``path``, named ``name`` (its file stem by default).

    ``register=True`` also puts it in ``sys.modules``: needed when child processes unpickle functions
    defined in the script, since they import it by that name.
    """
    path = Path(path)
    name = name or path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None:
        raise FileNotFoundError(f'no Python script at {path}')
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
