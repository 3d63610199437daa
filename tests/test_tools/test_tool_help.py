"""Every tool explains itself: ``--help`` exits 0 with a usage line and at least one example command of
that very tool. Modules under tools/ without a command line are helpers of one tool, named in their
docstring, which imports them."""
import contextlib
import glob
import io
import os.path as osp
import re

import pytest

from zerovl.testing.scripts import load_script

SCRIPTS = sorted(glob.glob('tools/*.py') + glob.glob('tools/*/*.py'))
TOOLS = [path for path in SCRIPTS if "__name__ == '__main__'" in open(path).read()]
HELPERS = [path for path in SCRIPTS if path not in TOOLS]


def help_text(path: str) -> str:
    module = load_script(path, name='help_of_' + re.sub(r'\W', '_', path))
    parse = getattr(module, 'parse_args', None) or module.main
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as stop:
        parse(['--help'])
    assert stop.value.code in (0, None), f'{path} --help exited with {stop.value.code}'
    return out.getvalue()


def test_the_tools_are_found():
    assert 'tools/train.py' in TOOLS and 'tools/analysis_tools/plot_curves.py' in TOOLS
    assert len(TOOLS) >= 20


@pytest.mark.parametrize('path', TOOLS)
def test_help_has_usage_and_an_example(path):
    text = help_text(path)
    assert text.startswith('usage: ')
    assert re.search(rf'(python|bash) {re.escape(path)}\b', text), f'{path} --help shows no example command'


@pytest.mark.parametrize('path', HELPERS)
def test_helper_modules_name_the_tool_that_imports_them(path):
    first_line = open(path).read().split('\n', 1)[0]
    named = [osp.join(osp.dirname(path), name) for name in re.findall(r'\b(\w+\.py)\b', first_line)]
    owners = [tool for tool in named if tool in TOOLS]
    assert owners, f'{path} has no command line, and the first line of its docstring names no tool next to it'
    imported = osp.splitext(osp.basename(path))[0]
    users = owners + [p for p in HELPERS if osp.dirname(p) == osp.dirname(path) and p != path]
    assert any(re.search(rf'\b(from|import) {imported}\b', open(p).read()) for p in users)
