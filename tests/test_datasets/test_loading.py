import pickle

import cv2
import numpy as np
import pytest

from zerovl.datasets import BadSampleError
from zerovl.datasets.transforms import LoadImageFromFile

ANN_FILE = '/data/toy/train_anno.csv'


def load(path, row=7):
    return LoadImageFromFile()(dict(img_path=str(path), ann_file=ANN_FILE, row=row))


def test_jpeg_loads_as_rgb(tmp_path):
    bgr = np.zeros((10, 20, 3), np.uint8)
    bgr[..., 2] = 255  # pure red in OpenCV's BGR order
    cv2.imwrite(str(tmp_path / 'red.png'), bgr)
    results = load(tmp_path / 'red.png')
    img = results['img']
    assert img.dtype == np.uint8 and img.shape == (10, 20, 3)
    assert (img[..., 0] == 255).all() and (img[..., 1:] == 0).all()
    assert results['img_shape'] == results['ori_shape'] == (10, 20)


def test_grayscale_png_loads_as_three_channels(tmp_path):
    cv2.imwrite(str(tmp_path / 'grey.png'), np.full((8, 6), 77, np.uint8))
    img = load(tmp_path / 'grey.png')['img']
    assert img.shape == (8, 6, 3) and (img == 77).all()


def test_rgba_png_drops_alpha(tmp_path):
    bgra = np.zeros((5, 5, 4), np.uint8)
    bgra[..., 1] = 200
    bgra[..., 3] = 10  # nearly transparent: the colour must survive, not be blended away
    cv2.imwrite(str(tmp_path / 'rgba.png'), bgra)
    img = load(tmp_path / 'rgba.png')['img']
    assert img.shape == (5, 5, 3) and (img[..., 1] == 200).all() and (img[..., [0, 2]] == 0).all()


def assert_names_the_sample(error: BadSampleError, path, reason_fragment):
    message = str(error)
    assert ANN_FILE in message and 'row 7' in message and "'image'" in message and str(path) in message
    assert reason_fragment in message
    assert (error.file, error.row, error.column) == (ANN_FILE, 7, 'image')


def test_missing_file(tmp_path):
    with pytest.raises(BadSampleError) as error:
        load(tmp_path / 'nope.jpg')
    assert_names_the_sample(error.value, tmp_path / 'nope.jpg', 'not found')


def test_zero_byte_file(tmp_path):
    (tmp_path / 'empty.jpg').write_bytes(b'')
    with pytest.raises(BadSampleError) as error:
        load(tmp_path / 'empty.jpg')
    assert_names_the_sample(error.value, tmp_path / 'empty.jpg', '0 bytes')


def test_non_image_bytes(tmp_path):
    (tmp_path / 'page.jpg').write_bytes(b'<html>404 not found</html>')
    with pytest.raises(BadSampleError) as error:
        load(tmp_path / 'page.jpg')
    assert_names_the_sample(error.value, tmp_path / 'page.jpg', 'cannot decode')


def test_error_survives_pickling_with_its_attributes():
    error = BadSampleError('broken', file=ANN_FILE, row=3, column='image', path='/x.jpg')
    restored = pickle.loads(pickle.dumps(error))
    assert str(restored) == str(error)
    assert (restored.file, restored.row, restored.column, restored.path) == (ANN_FILE, 3, 'image', '/x.jpg')
    assert isinstance(restored, ValueError)
