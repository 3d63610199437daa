"""The package's one-way import graph and its file sizes, checked from the source (nothing is imported).

models never import engine or datasets, engine never imports models, apis never imports visualization,
and nothing in the package imports tools/ or projects/: each concept has one home, and a lower layer
never reaches up. Files stay readable in one sitting.
"""
import ast
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / 'zerovl'
FORBIDDEN = [('zerovl.models', 'zerovl.engine'), ('zerovl.models', 'zerovl.datasets'),
             ('zerovl.engine', 'zerovl.models'), ('zerovl.apis', 'zerovl.visualization'),
             ('zerovl', 'tools'), ('zerovl', 'projects')]
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def imported_modules(path: Path) -> Iterator[Tuple[int, str]]:
    """Every module ``path`` imports, relative imports resolved, with its line."""
    package = module_name(path).split('.')
    if path.name != '__init__.py':
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                yield node.lineno, '.'.join(base + ([node.module] if node.module else []))
            else:
                yield node.lineno, node.module


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + '.')


def violations(path: Path) -> List[str]:
    source = module_name(path)
    return [f'{path.relative_to(PACKAGE.parent)}:{line}: {source} imports {target}'
            for line, target in imported_modules(path) for low, high in FORBIDDEN
            if within(source, low) and within(target, high)]


def test_the_import_graph_runs_one_way():
    found = [line for path in sorted(PACKAGE.rglob('*.py')) for line in violations(path)]
    assert not found, 'imports against the layering:\n' + '\n'.join(found)


def test_the_check_sees_relative_and_lazy_imports(tmp_path, monkeypatch):
    """Negative control: a lazy relative import from models into engine is caught."""
    fake = tmp_path / 'zerovl' / 'models'
    fake.mkdir(parents=True)
    (fake / 'bad.py').write_text('def f():\n    from ..engine import dga_step\n')
    monkeypatch.setattr(__import__(__name__), 'PACKAGE', tmp_path / 'zerovl')
    assert violations(fake / 'bad.py') == ['zerovl/models/bad.py:2: zerovl.models.bad imports zerovl.engine']


TOOLS = PACKAGE.parent / 'tools'


@pytest.mark.parametrize('path', sorted(PACKAGE.rglob('*.py')) + sorted(TOOLS.rglob('*.py')),
                         ids=lambda path: str(path.relative_to(PACKAGE.parent)))
def test_no_package_or_tool_file_is_longer_than_a_sitting(path):
    lines = len(path.read_text(encoding='utf-8').splitlines())
    assert lines <= MAX_LINES, f'{path} has {lines} lines; split it by concept'
