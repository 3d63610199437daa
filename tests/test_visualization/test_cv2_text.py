"""Wrapping and cutting captions to the width and height of a grid cell."""
import numpy as np

from zerovl.visualization.cv2_text import (ELLIPSIS, ascii_text, draw_text_block, fit_lines, text_width,
                                           wrap_text)

SCALE = 0.45


def test_wrapped_lines_fit_and_keep_every_word_in_order():
    text = 'a large cyan circle sits in the bottom left corner of the picture, next to a small red square'
    lines = wrap_text(text, 120, SCALE)
    assert len(lines) > 1
    assert all(text_width(line, SCALE) <= 120 for line in lines)
    assert ' '.join(lines) == text


def test_a_word_wider_than_the_line_is_cut():
    lines = wrap_text('x' * 200, 100, SCALE)
    assert ''.join(lines) == 'x' * 200 and all(text_width(line, SCALE) <= 100 for line in lines)


def test_too_many_lines_end_with_an_ellipsis():
    lines = fit_lines(['one two three', 'four five six', 'seven eight'], 2, 200, SCALE)
    assert lines == ['one two three', 'four five six' + ELLIPSIS]


def test_non_ascii_is_approximated_as_drawn():
    assert ascii_text('café\tnaïve 東京') == 'cafe naive ??'


def test_text_stays_inside_its_box():
    canvas = np.full((100, 200, 3), 255, np.uint8)
    lines = draw_text_block(canvas, 'word ' * 100, 10, 10, 80, 40, SCALE)
    assert lines[-1].endswith(ELLIPSIS)
    ink_rows, ink_cols = np.nonzero(canvas.min(axis=2) < 128)
    assert ink_rows.min() >= 10 and ink_rows.max() < 50 + 2  # descenders may touch the box edge
    assert ink_cols.min() >= 10 and ink_cols.max() < 90 + 2
