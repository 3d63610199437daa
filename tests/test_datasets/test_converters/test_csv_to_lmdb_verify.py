"""tools/dataset_converters/csv_to_lmdb.py --verify lists every row the dataset would not serve (issue 14, item 4)."""
import csv

import cv2
import numpy as np

from zerovl.testing import load_script

HEADER = ['image', 'image_id', 'caption', 'caption_id']


def write_csv(path, header, rows):
    with open(path, 'w', newline='', encoding='utf-8') as f:
        csv.writer(f).writerows([header, *rows])


def make_source(root, name):
    """Six 8x8 JPEGs under {root}/{name}/train and a CSV with one caption each."""
    (root / name / 'train').mkdir(parents=True)
    for i in range(6):
        assert cv2.imwrite(str(root / name / 'train' / f'{i:03d}.jpg'), np.full((8, 8, 3), 40 * i, np.uint8))
    rows = [[f'{i:03d}.jpg', str(i), f'image {i}', str(i)] for i in range(6)]
    write_csv(root / name / 'train_anno.csv', HEADER, rows)


def verify(root, capsys, *extra):
    main = load_script('tools/dataset_converters/csv_to_lmdb.py').main
    status = main([str(root), 'toy', '--verify', '--no-progress', *extra])
    return status, capsys.readouterr().out


def test_verify_fails_and_lists_every_row_when_all_are_unusable(tmp_path, capsys):
    make_source(tmp_path, 'toy')
    # 16 rows, none usable: empty captions, 'nan', empty image names.
    rows = [[f'{i % 6:03d}.jpg' if i % 3 else '', str(i), ['a caption', '', 'nan'][i % 3], str(i)]
            for i in range(16)]
    write_csv(tmp_path / 'toy' / 'train_anno.csv', HEADER, rows)
    status, out = verify(tmp_path, capsys)
    assert status == 1
    assert 'verified 16 rows (0 usable), 0 images; 16 bad rows' in out
    for line in range(2, 18):
        assert f'  row {line}: ' in out
    assert "row 3: column 'caption': empty caption (the dataset drops this row)" in out
    assert "row 2: column 'image': empty image file name" in out and "row 4: column 'caption': caption 'nan'" in out
    assert 'error: no usable row' in out


def test_verify_lists_dropped_rows_next_to_bad_images(tmp_path, capsys):
    make_source(tmp_path, 'toy')
    (tmp_path / 'toy' / 'train' / '002.jpg').write_bytes(b'not an image')
    write_csv(tmp_path / 'toy' / 'train_anno.csv', HEADER,
              [['000.jpg', 'a', 'fine', '1'], ['001.jpg', 'b', '', '2'], ['002.jpg', 'c', 'fine too', '3']])
    status, out = verify(tmp_path, capsys)
    assert status == 1 and 'verified 3 rows (2 usable), 2 images; 2 bad rows' in out
    assert out.index('  row 3: ') < out.index("  row 4, key '002.jpg'")  # in CSV line order


def test_verify_passes_a_clean_source(tmp_path, capsys):
    make_source(tmp_path, 'toy')
    status, out = verify(tmp_path, capsys)
    assert status == 0 and '0 bad rows' in out


def test_header_only_csv_does_not_verify(tmp_path, capsys):
    make_source(tmp_path, 'toy')
    write_csv(tmp_path / 'toy' / 'train_anno.csv', HEADER, [])
    status, out = verify(tmp_path, capsys)
    assert status == 1 and 'error: no usable row' in out
