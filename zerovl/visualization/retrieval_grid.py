"""A PNG grid of retrieval results: one row per query, the query first, then its top-k matches.

A text query's row shows the query text, then the k best images; an image query's row shows the
image, then the k best captions. Every cell is ``GridLayout.cell_width`` x ``cell_height`` pixels: a
square content area and a strip below it with the rank and the cosine score, so a grid of R rows
for top-k is exactly ``(R * cell_height, (k + 1) * cell_width)``. Where the right answer is known (the
query is a caption or an image of the gallery), a correct match's strip is green and says so.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .cv2_text import draw_text_block

WHITE = (255, 255, 255)
QUERY_TINT = (228, 238, 252)   # RGB; sets the query column apart from the results
LABEL_COLOUR = (60, 60, 60)
MATCH_COLOUR = (150, 220, 150)  # RGB; the label strip of a correct match
MATCH_MARK = 'correct'


@dataclass(frozen=True)
class GridLayout:
    thumb: int = 160            # side of a cell's square content area
    label_height: int = 22      # the strip under it: rank and score
    padding: int = 4            # white margin inside the content area, so neighbours stay apart
    font_scale: float = 0.42

    @property
    def cell_width(self) -> int:
        return self.thumb

    @property
    def cell_height(self) -> int:
        return self.thumb + self.label_height

    def grid_shape(self, rows: int, columns: int) -> Tuple[int, int, int]:
        return rows * self.cell_height, columns * self.cell_width, 3


def thumbnail(image: np.ndarray, layout: GridLayout, background=WHITE) -> np.ndarray:
    """(thumb, thumb, 3) uint8: ``image`` (H, W, 3 RGB) scaled to fit inside the padding, centred."""
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'thumbnail: expected an (H, W, 3) image, got shape {image.shape}')
    inner = layout.thumb - 2 * layout.padding
    height, width = image.shape[:2]
    scale = inner / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Area averaging when shrinking avoids aliasing; bilinear when enlarging (64 px demo images).
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(np.ascontiguousarray(image, dtype=np.uint8), size, interpolation=interpolation)
    square = np.full((layout.thumb, layout.thumb, 3), background, np.uint8)
    top, left = (layout.thumb - size[1]) // 2, (layout.thumb - size[0]) // 2
    square[top:top + size[1], left:left + size[0]] = resized
    return square


def _with_label(content: np.ndarray, label: str, layout: GridLayout, background) -> np.ndarray:
    """``content`` over a label strip; a label ending in MATCH_MARK gets the match colour."""
    if label.endswith(MATCH_MARK):
        background = MATCH_COLOUR
    strip = np.full((layout.label_height, layout.cell_width, 3), background, np.uint8)
    draw_text_block(strip, label, layout.padding, 3, layout.cell_width - 2 * layout.padding,
                    layout.label_height - 3, layout.font_scale, LABEL_COLOUR)
    return np.concatenate([content, strip], axis=0)


def image_cell(image: np.ndarray, label: str, layout: GridLayout, background=WHITE) -> np.ndarray:
    return _with_label(thumbnail(image, layout, background), label, layout, background)


def text_cell(text: str, label: str, layout: GridLayout, background=WHITE) -> np.ndarray:
    content = np.full((layout.thumb, layout.thumb, 3), background, np.uint8)
    inner = layout.thumb - 2 * layout.padding
    draw_text_block(content, text, layout.padding, layout.padding, inner, inner, layout.font_scale)
    return _with_label(content, label, layout, background)


def score_label(rank: int, score: float, correct: bool = False) -> str:
    return f'#{rank}  {score:.3f}' + (f'  {MATCH_MARK}' if correct else '')


def _labels(scores: Sequence[float], correct: Optional[Sequence[bool]]) -> List[str]:
    correct = correct if correct is not None else [False] * len(scores)
    return [score_label(rank, score, hit) for rank, (score, hit) in enumerate(zip(scores, correct), start=1)]


def text_query_row(query: str, images: Sequence[np.ndarray], scores: Sequence[float], layout: GridLayout,
                   correct: Optional[Sequence[bool]] = None) -> np.ndarray:
    """The query text, then each retrieved image with its rank and score; ``correct[i]`` marks match i."""
    cells = [text_cell(query, 'text query', layout, QUERY_TINT)]
    cells += [image_cell(image, label, layout) for image, label in zip(images, _labels(scores, correct))]
    return np.concatenate(cells, axis=1)


def image_query_row(image: np.ndarray, captions: Sequence[str], scores: Sequence[float], layout: GridLayout,
                    correct: Optional[Sequence[bool]] = None) -> np.ndarray:
    """The query image, then each retrieved caption with its rank and score; ``correct[i]`` marks match i."""
    cells = [image_cell(image, 'image query', layout, QUERY_TINT)]
    cells += [text_cell(caption, label, layout) for caption, label in zip(captions, _labels(scores, correct))]
    return np.concatenate(cells, axis=1)


def stack_rows(rows: List[np.ndarray]) -> np.ndarray:
    if not rows:
        raise ValueError('no rows to draw: give at least one text or image query')
    widths = {row.shape[1] for row in rows}
    if len(widths) != 1:
        raise ValueError(f'rows have different widths {sorted(widths)}; every row needs the same top-k')
    return np.concatenate(rows, axis=0)


def check_image_path(path: str) -> None:
    """Refuse a file name OpenCV has no writer for, before any work is done for it."""
    if not cv2.haveImageWriter(path):
        raise ValueError(f'OpenCV cannot write {path!r}: its extension is no image format it knows (use .png)')


def write_image(path: str, grid: np.ndarray) -> None:
    """Write the RGB ``grid``; the format follows the extension (.png is lossless)."""
    check_image_path(path)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    if not cv2.imwrite(path, cv2.cvtColor(grid, cv2.COLOR_RGB2BGR)):
        raise OSError(f'OpenCV could not write {path}')
