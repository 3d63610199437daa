"""Text drawn with OpenCV: wrapped to a width, cut to a number of lines.

OpenCV's Hershey fonts have glyphs for printable ASCII only; other characters are approximated
(accents dropped) or shown as '?', so that what is measured is what gets drawn.
"""
import unicodedata
from typing import List

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
ELLIPSIS = '...'


def _printable(char: str) -> str:
    if char.isspace():
        return ' '
    return char if 32 <= ord(char) < 127 else '?'


def ascii_text(text: str) -> str:
    """``text`` with accents dropped ('café' -> 'cafe'), whitespace as spaces, anything else non-ASCII '?'."""
    decomposed = unicodedata.normalize('NFKD', text)
    return ''.join(_printable(char) for char in decomposed if not unicodedata.combining(char))


def text_width(text: str, font_scale: float, thickness: int = 1) -> int:
    return cv2.getTextSize(text, FONT, font_scale, thickness)[0][0]


def line_height(font_scale: float, thickness: int = 1) -> int:
    (_, height), baseline = cv2.getTextSize('Ag', FONT, font_scale, thickness)
    return height + baseline + max(2, int(4 * font_scale))  # glyphs, descenders and some leading


def _split_long_word(word: str, max_width: int, font_scale: float) -> List[str]:
    """A word wider than a line, cut into pieces that fit (at least one character each)."""
    pieces = []
    while word:
        cut = len(word)
        while cut > 1 and text_width(word[:cut], font_scale) > max_width:
            cut -= 1
        pieces.append(word[:cut])
        word = word[cut:]
    return pieces


def wrap_text(text: str, max_width: int, font_scale: float) -> List[str]:
    """Greedy word wrap of ``text`` (made ASCII) into lines at most ``max_width`` pixels wide."""
    lines: List[str] = []
    current = ''
    for word in ascii_text(text).split():
        candidate = f'{current} {word}' if current else word
        if text_width(candidate, font_scale) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        *full, current = _split_long_word(word, max_width, font_scale)
        lines.extend(full)
    if current:
        lines.append(current)
    return lines


def fit_lines(lines: List[str], max_lines: int, max_width: int, font_scale: float) -> List[str]:
    """At most ``max_lines`` lines; when some are cut, the last kept one ends with '...'."""
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    last = kept[-1]
    while last and text_width(last + ELLIPSIS, font_scale) > max_width:
        last = last[:-1]
    kept[-1] = last.rstrip() + ELLIPSIS
    return kept


def draw_text_block(canvas: np.ndarray, text: str, left: int, top: int, width: int, height: int,
                    font_scale: float, colour=(0, 0, 0)) -> List[str]:
    """Draw ``text`` wrapped into the box (left, top, width, height) of ``canvas``; returns the lines drawn."""
    step = line_height(font_scale)
    max_lines = max(1, height // step)
    lines = fit_lines(wrap_text(text, width, font_scale), max_lines, width, font_scale)
    (_, ascent), _ = cv2.getTextSize('Ag', FONT, font_scale, 1)
    for number, line in enumerate(lines):
        baseline_y = top + number * step + ascent
        cv2.putText(canvas, line, (left, baseline_y), FONT, font_scale, colour, 1, cv2.LINE_AA)
    return lines
