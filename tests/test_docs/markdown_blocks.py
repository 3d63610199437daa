"""Read Markdown the way the docs tests need it: fenced code blocks, links and heading anchors.

Deliberately small: CommonMark fences (``` or ~~~, up to 3 spaces of indent), inline links and images,
reference definitions, and GitHub's heading anchors. Enough for this repository's docs, not a full parser.
"""
import re
from typing import List, NamedTuple, Set

_FENCE_OPEN = re.compile(r'^ {0,3}(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$')
# [text](target "title") and ![alt](target); the text may hold one level of brackets ([`x[0]`](...)).
_INLINE_LINK = re.compile(r'!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?(?P<target>[^()\s<>]+)>?(?:\s+"[^"]*")?\s*\)')
_REFERENCE_DEFINITION = re.compile(r'^ {0,3}\[[^\]]+\]:\s*<?(?P<target>\S+?)>?(?:\s+"[^"]*")?\s*$')
_CODE_SPAN = re.compile(r'(`+)(?:(?!\1).)+?\1')
_HEADING = re.compile(r'^ {0,3}#{1,6}\s+(?P<title>.*?)\s*#*\s*$')


class Block(NamedTuple):
    """One fenced block: its language (first word of the info string), the rest of the info string,
    its text, and the line of the file where its text starts (1-based)."""
    language: str
    info: str
    text: str
    line: int


def fenced_blocks(markdown: str) -> List[Block]:
    """Every fenced code block, in file order. An unclosed fence runs to the end of the file, as in
    CommonMark."""
    lines = markdown.splitlines()
    blocks, index = [], 0
    while index < len(lines):
        opening = _FENCE_OPEN.match(lines[index])
        if not opening:
            index += 1
            continue
        fence = opening['fence']
        words = opening['info'].strip().split(maxsplit=1)
        language, info = (words + ['', ''])[0], (words[1] if len(words) > 1 else '')
        closing = re.compile(r'^ {0,3}' + re.escape(fence[0]) + '{' + str(len(fence)) + r',}\s*$')
        start = index + 1
        end = start
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        blocks.append(Block(language, info, '\n'.join(lines[start:end]) + '\n', start + 1))
        index = end + 1
    return blocks


def _without_fences(markdown: str) -> List[str]:
    """The file's lines with every fenced block, fences included, blanked; line numbers are kept."""
    lines = markdown.splitlines()
    for block in fenced_blocks(markdown):
        first = block.line - 2  # the opening fence
        last = min(block.line - 1 + block.text.count('\n'), len(lines) - 1)  # the closing fence
        for number in range(first, last + 1):
            lines[number] = ''
    return lines


def prose(markdown: str) -> List[str]:
    """The file's lines without fenced blocks and inline code spans: where links live."""
    return [_CODE_SPAN.sub('', line) for line in _without_fences(markdown)]


class Link(NamedTuple):
    target: str
    line: int


def links(markdown: str) -> List[Link]:
    """Targets of inline links, images and reference definitions outside code, with their line."""
    found = []
    for number, line in enumerate(prose(markdown), start=1):
        definition = _REFERENCE_DEFINITION.match(line)
        if definition:
            found.append(Link(definition['target'], number))
            continue
        found.extend(Link(match['target'], number) for match in _INLINE_LINK.finditer(line))
    return found


def github_anchor(title: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped (letters, digits, '_', '-' and
    spaces kept, in any script), spaces turned into '-'."""
    text = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', title)  # a link in a heading keeps its text
    return re.sub(r'[^\w\- ]', '', text.strip().lower()).replace(' ', '-')


def anchors(markdown: str) -> Set[str]:
    """Every heading anchor of a file, with GitHub's -1, -2, ... suffixes for repeated headings."""
    seen: dict = {}
    result = set()
    for line in _without_fences(markdown):  # code spans stay: their text is part of the anchor
        heading = _HEADING.match(line)
        if not heading:
            continue
        anchor = github_anchor(heading['title'])
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        result.add(anchor if count == 0 else f'{anchor}-{count}')
    return result
