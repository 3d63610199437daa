"""Annotations that would give wrong numbers or unnamed crashes are named errors (issue 14, item 4).

Evaluation scores captions per image_id, so a blank id, or one id shared by several image files, is an
error in test mode (a constant column gave R@k = 100). A source without a usable row, and a CSV with a
repeated column name, are errors naming the file.
"""
import pytest

from zerovl.datasets import BadSampleError, ImageTextDataset, convert_csv_to_lmdb

from image_text_helpers import write_csv

HEADER = ['image', 'image_id', 'caption', 'caption_id']
ROWS = [['000.jpg', 'a', 'a red square.', '1'], ['000.jpg', 'a', 'red again', '2'],
        ['001.jpg', 'b', 'a green square.', '3'], ['002.jpg', 'c', 'a blue photo', '4']]


def dataset(root, rows, header=HEADER, **kwargs):
    write_csv(root / 'toy' / 'train_anno.csv', header, rows)
    return ImageTextDataset(data_root=str(root), name='toy', **kwargs)


def test_captions_sharing_an_image_and_its_id_are_fine_in_test_mode(toy_root):
    assert len(dataset(toy_root, ROWS, test_mode=True)) == 4


@pytest.mark.parametrize('blank', ['', '   '])
def test_blank_image_id_is_an_error_in_test_mode(toy_root, blank):
    rows = [*ROWS[:2], ['001.jpg', blank, 'a green square.', '3'], ROWS[3]]
    with pytest.raises(BadSampleError) as error:
        dataset(toy_root, rows, test_mode=True)
    assert (error.value.row, error.value.column) == (4, 'image_id')
    assert str(toy_root / 'toy' / 'train_anno.csv') in str(error.value) and 'empty image_id' in str(error.value)
    assert len(dataset(toy_root, rows)) == 4  # training does not group by image_id


def test_constant_image_id_is_an_error_in_test_mode(toy_root):
    rows = [[image, 'same', caption, cap] for image, _, caption, cap in ROWS]
    with pytest.raises(BadSampleError) as error:
        dataset(toy_root, rows, test_mode=True)
    message = str(error.value)
    assert "image_id 'same' names 3 different image files (000.jpg, 001.jpg, 002.jpg" in message
    assert (error.value.row, error.value.column) == (4, 'image_id') and 'train_anno.csv' in message


def test_same_check_on_the_lmdb_copy(toy_root):
    rows = [[image, 'same', caption, cap] for image, _, caption, cap in ROWS]
    write_csv(toy_root / 'toy' / 'train_anno.csv', HEADER, rows)
    base = toy_root / 'toy'
    convert_csv_to_lmdb(str(base / 'train_anno.csv'), str(base / 'train'), str(base / 'train.lmdb'), progress=False)
    with pytest.raises(BadSampleError, match="image_id 'same' names 3 different image files"):
        ImageTextDataset(data_root=str(toy_root), name='toy', source='lmdb', test_mode=True)


@pytest.mark.parametrize('rows', [[], [['000.jpg', 'a', '', '1'], ['001.jpg', 'b', 'nan', '2']]],
                         ids=['header-only', 'every-row-dropped'])
def test_no_usable_row_names_the_file(toy_root, rows):
    with pytest.raises(ValueError, match=r"dataset 'toy' \(split 'train'\) has no usable row: .*train_anno\.csv"):
        dataset(toy_root, rows, max_skip_ratio=None)


def test_repeated_column_name_is_an_error(toy_root):
    header = ['image', 'image_id', 'caption', 'caption', 'caption_id']
    rows = [['000.jpg', 'a', 'the first caption', 'another caption', '1']]
    for on_error in ('raise', 'skip'):
        with pytest.raises(ValueError, match=r"train_anno\.csv, row 1: duplicated column name\(s\) 'caption' "
                                             r"\(columns \[3, 4\]\)"):
            dataset(toy_root, rows, header=header, on_error=on_error)
    # Blank names (trailing commas of a spreadsheet export) carry nothing and stay allowed.
    assert len(dataset(toy_root, [row + ['', ''] for row in ROWS], header=HEADER + ['', ''])) == 4
