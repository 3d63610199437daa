"""Grid geometry: every cell the same size, rows stacked, images letterboxed."""
import cv2
import numpy as np
import pytest

from zerovl.visualization import GridLayout, image_query_row, stack_rows, text_query_row, thumbnail, write_image

LAYOUT = GridLayout(thumb=64, label_height=16, padding=2)


def test_rows_have_the_query_and_k_cells():
    images = [np.full((30, 50, 3), value, np.uint8) for value in (0, 100, 200)]
    text_row = text_query_row('a red circle', images, [0.9, 0.5, 0.1], LAYOUT)
    image_row = image_query_row(images[0], ['one', 'two', 'three'], [0.3, 0.2, 0.1], LAYOUT)
    grid = stack_rows([text_row, image_row])
    assert grid.shape == LAYOUT.grid_shape(2, 4) == (2 * 80, 4 * 64, 3)


def test_thumbnail_keeps_the_aspect_ratio_inside_the_padding():
    square = thumbnail(np.zeros((30, 60, 3), np.uint8), LAYOUT)
    dark_rows, dark_cols = np.nonzero(square.max(axis=2) == 0)
    assert (dark_cols.min(), dark_cols.max()) == (2, 61)          # 60 px wide inside 2 px padding
    assert dark_rows.max() - dark_rows.min() + 1 == 30            # half as high, centred


def test_rows_of_different_widths_are_refused():
    row = text_query_row('q', [np.zeros((8, 8, 3), np.uint8)], [0.5], LAYOUT)
    with pytest.raises(ValueError, match='same top-k'):
        stack_rows([row, np.concatenate([row, row], axis=1)])
    with pytest.raises(ValueError, match='at least one'):
        stack_rows([])


def test_write_image_round_trips_rgb(tmp_path):
    grid = np.zeros((4, 4, 3), np.uint8)
    grid[..., 0] = 255  # red
    path = str(tmp_path / 'sub' / 'g.png')
    write_image(path, grid)
    assert cv2.imread(path)[0, 0].tolist() == [0, 0, 255]  # BGR on disk
    with pytest.raises(ValueError, match='no image format'):
        write_image(str(tmp_path / 'g.notanimage'), grid)
