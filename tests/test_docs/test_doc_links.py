"""Every relative link of the README and the docs points to a file that exists, and every anchor
(``page.md#section``) to a heading of that page.

Strict on purpose: a page that is linked before it is written fails here until it exists.
"""
import os
import re
import subprocess
from pathlib import Path
from typing import List, Tuple
from urllib.parse import unquote

import pytest
from markdown_blocks import anchors, fenced_blocks, links

REPO_ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([REPO_ROOT / 'README.md', *(REPO_ROOT / 'docs').glob('*.md'),
                *(REPO_ROOT / 'docs' / 'methods').glob('*.md')])
EXTERNAL = ('http://', 'https://', 'mailto:', 'ftp://')


def relative_links(page: Path) -> List[Tuple[str, int]]:
    return [(link.target, link.line) for link in links(page.read_text(encoding='utf-8'))
            if not link.target.startswith(EXTERNAL)]


def resolve(page: Path, target: str) -> Tuple[Path, str]:
    """The file a link names (relative to its page; a leading '/' means the repository root) and its
    anchor ('' when none)."""
    path, _, anchor = target.partition('#')
    path = unquote(path)
    if not path:
        return page, anchor
    base = REPO_ROOT if path.startswith('/') else page.parent
    return Path(os.path.normpath(base / path.lstrip('/'))), anchor


def name(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


def test_the_pages_are_found():
    names = {name(page) for page in PAGES}
    assert {'README.md', 'docs/customize.md', 'docs/model_zoo.md', 'docs/README.md',
            'docs/methods/dga.md'} <= names


@pytest.mark.parametrize('page', PAGES, ids=name)
def test_relative_links_name_existing_files(page):
    broken = []
    for target, line in relative_links(page):
        path, _ = resolve(page, target)
        if not path.exists():
            broken.append(f'{name(page)}:{line}: {target} -> {path.relative_to(REPO_ROOT)} does not exist')
    assert not broken, '\n'.join(broken)


@pytest.mark.parametrize('page', PAGES, ids=name)
def test_anchors_name_existing_headings(page):
    broken = []
    for target, line in relative_links(page):
        path, anchor = resolve(page, target)
        if anchor and path.suffix == '.md' and path.is_file():
            if anchor not in anchors(path.read_text(encoding='utf-8')):
                broken.append(f'{name(page)}:{line}: {target}: no heading with anchor #{anchor} in {name(path)}')
    assert not broken, '\n'.join(broken)


def test_the_link_reader_sees_links_and_skips_code():
    text = '\n'.join([
        '# A title, with `code`',
        'See [the guide](docs/guide.md#a-title-with-code), ![a plot](img/plot.png "Plot") and',
        '[`x[0]`](zerovl/x.py). Not `[this](inside/code.md)`.',
        '```markdown',
        '[nor this](inside/a/fence.md)',
        '```',
        '[ref]: docs/ref.md',
        '## A title, with `code`',
    ])
    assert [(link.target, link.line) for link in links(text)] == [
        ('docs/guide.md#a-title-with-code', 2), ('img/plot.png', 2), ('zerovl/x.py', 3), ('docs/ref.md', 7)]
    assert anchors(text) == {'a-title-with-code', 'a-title-with-code-1'}
    assert [block.language for block in fenced_blocks(text)] == ['markdown']


# Markdown files our tools write, named where they are written: mentions of them are not citations.
WRITTEN_BY_TOOLS = {
    'results.md': 'tools/analysis_tools/ablation_report.py',
    'summary.md': 'tools/analysis_tools/real_demo_report.py',
    'gpu_check.md': 'tools/benchmarks/gpu_check.py',
    'pipeline.md': 'tools/benchmarks/gpu_check.py',
}
MENTION = re.compile(r'(?<![\w./-])((?:\.\./|[\w-]+/)*[\w-]+\.md)\b')


def tracked_text_files() -> List[Path]:
    listed = subprocess.run(['git', 'ls-files'], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return [REPO_ROOT / name for name in listed.stdout.split()
            if name.endswith(('.py', '.md', '.sh', '.txt', 'Makefile')) and not name.startswith('tests/')]


def test_every_mentioned_markdown_file_is_in_the_repository():
    """A plain mention ('see method.md §2') must name a page this repository has: a reader cannot follow
    a citation of a document it does not contain (the method notes the project was started from)."""
    files = tracked_text_files()
    pages = {path.name for path in files if path.suffix == '.md'}
    missing = []
    for path in files:
        for line_number, line in enumerate(path.read_text(encoding='utf-8', errors='replace').splitlines(), 1):
            for mention in MENTION.findall(line):
                name = Path(mention).name
                if name not in pages and name not in WRITTEN_BY_TOOLS:
                    missing.append(f'{path.relative_to(REPO_ROOT)}:{line_number}: {mention}')
    assert not missing, 'mentions of Markdown files the repository does not hold:\n' + '\n'.join(missing)
