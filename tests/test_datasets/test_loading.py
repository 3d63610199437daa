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


def encoded_samples() -> dict:
    """Bytes of each kind decode_rgb must handle: a rotated (EXIF 6) JPEG, 16-bit grey and RGBA PNGs."""
    import io
    from PIL import Image
    rng = np.random.default_rng(0)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    jpeg = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(jpeg, 'JPEG', exif=exif)
    return {'jpeg_exif': jpeg.getvalue(),
            'png16': cv2.imencode('.png', (np.arange(64, dtype=np.uint16) * 1000).reshape(8, 8))[1].tobytes(),
            'rgba': cv2.imencode('.png', rng.integers(0, 255, (8, 8, 4), dtype=np.uint8))[1].tobytes()}


@pytest.mark.parametrize('kind', ['jpeg_exif', 'png16', 'rgba'])
def test_rgb_decoding_is_bgr_decoding_reordered(kind, monkeypatch):
    """The direct RGB decode (OpenCV >= 4.10) gives the pixels of the BGR decode + cvtColor it replaced,
    EXIF rotation included; the fallback for older OpenCV is that BGR path."""
    from zerovl.datasets.transforms import loading
    if loading.IMREAD_COLOR_RGB is None:
        pytest.skip(f'OpenCV {cv2.__version__} has no IMREAD_COLOR_RGB (needs >= 4.10)')
    buffer = encoded_samples()[kind]
    direct = loading.decode_rgb(buffer)
    monkeypatch.setattr(loading, 'IMREAD_COLOR_RGB', None)
    via_bgr = loading.decode_rgb(buffer)
    expected = cv2.cvtColor(cv2.imdecode(np.frombuffer(buffer, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(via_bgr, expected)
    np.testing.assert_array_equal(direct, expected)
    if kind == 'jpeg_exif':
        assert direct.shape == (60, 40, 3)  # the orientation was applied
