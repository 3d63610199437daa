"""Image reading never hangs, never reads without bound, stays in the image folder, and checks the
pixel count from the header of every format before decoding (issue 14, item 3).

No test allocates more than a few kilobytes on the fixed code: huge images are tiny files whose headers
claim a huge size, and the decoder is replaced by a failing stub to prove it is never reached. The FIFO
tests have timeouts, so on code that blocks they fail instead of hanging the suite.
"""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from zerovl.datasets import BadSampleError, ImageTextDataset, convert_csv_to_lmdb, verify_lmdb
from zerovl.datasets.transforms import LoadImageFromFile, loading
from zerovl.datasets.transforms.image_header import peek_size

from image_text_helpers import make_source, write_csv, write_rgb_jpeg

REPO = Path(__file__).resolve().parents[2]
posix_only = pytest.mark.skipif(not hasattr(os, 'mkfifo'), reason='FIFOs and /dev need a POSIX system')
HEADER = ['image', 'image_id', 'caption', 'caption_id']


def load(path, **kwargs):
    return LoadImageFromFile(**kwargs)(dict(img_path=str(path), ann_file='/a.csv', row=2))['img']


def source_naming(root, image, name='toy'):
    """The toy source with its second row (line 3) pointing at ``image`` instead."""
    make_source(root, name)
    write_csv(root / name / 'train_anno.csv', HEADER,
              [['000.jpg', 'i0', 'a red square.', 'c0'], [image, 'i1', 'a green square.', 'c1']])
    return root / name


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail if anything reaches the pixel decoder."""
    monkeypatch.setattr(loading, 'decode_rgb', lambda buffer: pytest.fail('decoded an image the header refuses'))


# ------------------------------------------------------------------ what a path may be

@posix_only
@pytest.mark.timeout(20)
def test_fifo_is_a_bad_sample_not_a_hang(tmp_path, zerovl_scope):
    root = source_naming(tmp_path, 'pipe.jpg')
    os.mkfifo(root / 'train' / 'pipe.jpg')  # no writer: a blocking open would wait forever
    dataset = ImageTextDataset(data_root=str(tmp_path), name='toy', pipeline=[dict(type='LoadImageFromFile')],
                               on_error='raise')
    with pytest.raises(BadSampleError, match=r"row 3, column 'image'.*not a regular file \(a FIFO\)"):
        dataset[1]


@posix_only
@pytest.mark.timeout(20)
def test_converter_lists_a_fifo_instead_of_hanging(tmp_path):
    root = source_naming(tmp_path, 'pipe.jpg')
    os.mkfifo(root / 'train' / 'pipe.jpg')
    summary = convert_csv_to_lmdb(str(root / 'train_anno.csv'), str(root / 'train'), str(root / 'train.lmdb'),
                                  progress=False)
    assert summary.missing_images == ['pipe.jpg']
    assert 'not a regular file (a FIFO)' in summary.image_problems['pipe.jpg']
    [(line, key, reason)] = verify_lmdb(str(root / 'train.lmdb'), progress=False).bad
    assert (line, key) == (3, 'pipe.jpg') and 'not stored at conversion: not a regular file (a FIFO)' in reason


@posix_only
def test_character_device_is_refused(tmp_path):
    with pytest.raises(BadSampleError, match=r'not a regular file \(a character device\)'):
        load('/dev/null')


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='reads /proc/self/status')
@pytest.mark.timeout(60)
def test_dev_zero_is_a_bad_sample_not_a_memory_error(tmp_path):
    # In a child whose address space is capped a little above what it uses after the imports: code
    # that reads /dev/zero without bound fails there with MemoryError instead of eating the machine.
    script = textwrap.dedent('''
        import resource
        from zerovl.datasets import BadSampleError
        from zerovl.datasets.transforms import LoadImageFromFile
        with open('/proc/self/status') as f:
            used_kb = next(int(line.split()[1]) for line in f if line.startswith('VmSize:'))
        limit = used_kb * 1024 + (512 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            LoadImageFromFile()(dict(img_path='/dev/zero', ann_file='/a.csv', row=2))
        except BadSampleError as error:
            print('BAD SAMPLE:', error)
    ''')
    done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=50,
                          env={**os.environ, 'PYTHONPATH': str(REPO)}, cwd=str(REPO))
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'BAD SAMPLE: /a.csv, row 2' in done.stdout and 'not a regular file' in done.stdout


def test_path_outside_the_image_folder_is_refused_by_loader_and_converter(tmp_path, zerovl_scope):
    write_rgb_jpeg(tmp_path / 'secret.jpg', (1, 2, 3))  # a readable image, but not in toy/train
    root = source_naming(tmp_path, '../../secret.jpg')
    dataset = ImageTextDataset(data_root=str(tmp_path), name='toy', pipeline=[dict(type='LoadImageFromFile')],
                               on_error='raise')
    with pytest.raises(BadSampleError, match=r'row 3.*outside the image folder'):
        dataset[1]
    summary = convert_csv_to_lmdb(str(root / 'train_anno.csv'), str(root / 'train'), str(root / 'train.lmdb'),
                                  progress=False)
    assert summary.missing_images == ['../../secret.jpg'] and summary.images_written == 1
    assert 'outside the image folder' in summary.image_problems['../../secret.jpg']


def test_links_out_of_the_folder_need_an_allowed_root(tmp_path, zerovl_scope):
    shared = tmp_path / 'shared'
    shared.mkdir()
    write_rgb_jpeg(shared / 'real.jpg', (0, 0, 255))
    root = source_naming(tmp_path, 'linked.jpg')
    (root / 'train' / 'linked.jpg').symlink_to(shared / 'real.jpg')
    refused = ImageTextDataset(data_root=str(tmp_path), name='toy', pipeline=[dict(type='LoadImageFromFile')],
                               on_error='raise')
    with pytest.raises(BadSampleError, match='outside the image folder'):
        refused[1]
    allowed = ImageTextDataset(data_root=str(tmp_path), name='toy', on_error='raise',
                               pipeline=[dict(type='LoadImageFromFile', allowed_roots=[str(shared)])])
    assert allowed[1]['img'][..., 2].mean() > 240
    summary = convert_csv_to_lmdb(str(root / 'train_anno.csv'), str(root / 'train'), str(root / 'train.lmdb'),
                                  allowed_roots=[str(shared)], progress=False)
    assert summary.missing_images == [] and summary.images_written == 2


def test_file_over_max_bytes_is_refused_before_reading(tmp_path):
    write_rgb_jpeg(tmp_path / 'photo.jpg', (9, 9, 9), size=(64, 64))
    size = (tmp_path / 'photo.jpg').stat().st_size
    assert load(tmp_path / 'photo.jpg', max_bytes=size).shape == (64, 64, 3)
    with pytest.raises(BadSampleError, match=rf'{size} bytes exceeds max_bytes={size - 1}'):
        load(tmp_path / 'photo.jpg', max_bytes=size - 1)


# ------------------------------------------------------------------ the pixel cap from every header

def encoded(ext, height=37, width=53):
    ok, data = cv2.imencode(ext, np.full((height, width, 3), 90, np.uint8))
    assert ok
    return bytearray(data.tobytes())


def gif_claiming(height, width):
    data = encoded('.gif')
    data[6:10] = width.to_bytes(2, 'little') + height.to_bytes(2, 'little')
    return bytes(data)


def bmp_claiming(height, width):
    data = encoded('.bmp')
    data[18:26] = width.to_bytes(4, 'little') + height.to_bytes(4, 'little')
    return bytes(data)


def tiff_claiming(height, width):
    """A TIFF header whose first directory holds only the width and length tags."""
    entries = b''.join(tag.to_bytes(2, 'little') + (4).to_bytes(2, 'little') + (1).to_bytes(4, 'little')
                       + value.to_bytes(4, 'little') for tag, value in ((256, width), (257, height)))
    return b'II*\x00' + (8).to_bytes(4, 'little') + (2).to_bytes(2, 'little') + entries + bytes(4)


def webp_claiming(height, width):
    """An extended-format WebP whose canvas is ``height`` x ``width``."""
    vp8x = b'VP8X' + (10).to_bytes(4, 'little') + bytes(4) + (width - 1).to_bytes(3, 'little') + \
        (height - 1).to_bytes(3, 'little')
    return b'RIFF' + (4 + len(vp8x)).to_bytes(4, 'little') + b'WEBP' + vp8x


@pytest.mark.parametrize('data', [gif_claiming(20000, 20000), tiff_claiming(20000, 20000),
                                  webp_claiming(16383, 16383), bmp_claiming(20000, 20000)],
                         ids=['gif', 'tiff', 'webp', 'bmp'])
def test_huge_gif_tiff_webp_bmp_are_refused_from_the_header(tmp_path, no_decoding, data):
    (tmp_path / 'huge').write_bytes(data)
    with pytest.raises(BadSampleError, match=r'(20000x20000|16383x16383) .*max_pixels'):
        load(tmp_path / 'huge')


@pytest.mark.parametrize('ext,params', [('.gif', []), ('.bmp', []), ('.tiff', []), ('.webp', []),
                                        ('.webp', [cv2.IMWRITE_WEBP_QUALITY, 101]), ('.ppm', [])],
                         ids=['gif', 'bmp', 'tiff', 'webp-lossy', 'webp-lossless', 'ppm-via-pillow'])
def test_header_sizes_of_every_crawl_format(ext, params):
    ok, data = cv2.imencode(ext, np.zeros((37, 53, 3), np.uint8), params)
    assert peek_size(data.tobytes()) == (37, 53)


def test_format_without_a_readable_header_is_never_decoded(tmp_path, no_decoding):
    # Radiance HDR: OpenCV decodes it, but neither zerovl nor Pillow reads its size first.
    (tmp_path / 'sky.hdr').write_bytes(cv2.imencode('.hdr', np.ones((4, 4, 3), np.float32))[1].tobytes())
    with pytest.raises(BadSampleError, match='no image header whose size can be read'):
        load(tmp_path / 'sky.hdr')


def test_max_side_never_decodes_an_image_over_max_pixels(tmp_path, monkeypatch):
    root = source_naming(tmp_path, 'huge.png')
    ok, png = cv2.imencode('.png', np.zeros((2, 2, 3), np.uint8))
    data = bytearray(png.tobytes())
    data[16:24] = (20000).to_bytes(4, 'big') * 2  # IHDR claims 20000 x 20000 (CRC left stale)
    (root / 'train' / 'huge.png').write_bytes(bytes(data))
    from zerovl.datasets.converters import lmdb_convert
    fail = lambda *args, **kwargs: pytest.fail('--max-side decoded an image over max_pixels')  # noqa: E731
    monkeypatch.setattr(loading, 'decode_rgb', fail)
    monkeypatch.setattr(lmdb_convert, 'decode_rgb', fail, raising=False)  # where older code imported it
    summary = convert_csv_to_lmdb(str(root / 'train_anno.csv'), str(root / 'train'), str(root / 'train.lmdb'),
                                  max_side=64, progress=False)
    # Stored as it is, so that the dataset and --verify report it with its row.
    assert summary.images_resized == 0 and summary.images_written == 2


def test_jpeg_with_extraneous_bytes_between_segments_still_loads(tmp_path):
    # libjpeg skips such bytes and decodes; the header walk must find the size the same way rather
    # than refuse a decodable crawl image.
    data = cv2.imencode('.jpg', np.zeros((37, 53, 3), np.uint8))[1].tobytes()
    end_of_app0 = 4 + int.from_bytes(data[4:6], 'big')
    (tmp_path / 'junk.jpg').write_bytes(data[:end_of_app0] + b'junk' + data[end_of_app0:])
    assert load(tmp_path / 'junk.jpg').shape == (37, 53, 3)
