"""The bad-input policy: odd but valid images load as 8-bit RGB; broken ones raise or are skipped and counted."""
import io
import zlib

import cv2
import numpy as np
import pytest
from mmengine.dataset import ConcatDataset
from PIL import Image
from torch.utils.data import DataLoader

from zerovl.datasets import BadSampleError, ImageTextDataset, TooManyBadSamplesError
from zerovl.datasets import bad_input_policy
from zerovl.datasets.transforms import LoadImageFromFile, loading
from zerovl.datasets.transforms.image_header import peek_size

from image_text_helpers import make_source, write_csv

HEADER = ['image', 'image_id', 'caption', 'caption_id']
LOAD = [dict(type='LoadImageFromFile')]


def load(path, **kwargs):
    return LoadImageFromFile(**kwargs)(dict(img_path=str(path), ann_file='/a.csv', row=2))['img']


@pytest.fixture
def warnings(monkeypatch):
    """The policy's log lines, in order."""
    lines = []
    monkeypatch.setattr(bad_input_policy, 'print_log', lambda message, **kwargs: lines.append(message))
    return lines


def grey_source(root, name, count):
    """``count`` rows whose images are grey levels 0, 10, 20, ...: the level tells which row loaded."""
    colours = [(10 * i,) * 3 for i in range(count)]
    make_source(root, name, colours=colours, captions=[f'caption {i}' for i in range(count)])
    return root / name


def level(sample):
    return round(float(sample['img'].mean()) / 10)


# ------------------------------------------------------------------ images that must load as 8-bit RGB

def test_cmyk_jpeg_loads_as_rgb(tmp_path):
    buffer = io.BytesIO()
    Image.new('RGB', (8, 6), (200, 50, 30)).convert('CMYK').save(buffer, 'JPEG', quality=95)
    (tmp_path / 'cmyk.jpg').write_bytes(buffer.getvalue())
    assert Image.open(tmp_path / 'cmyk.jpg').mode == 'CMYK'
    img = load(tmp_path / 'cmyk.jpg')
    assert img.shape == (6, 8, 3) and img.dtype == np.uint8
    assert np.abs(img.astype(int) - (200, 50, 30)).max() <= 3


def test_16_bit_png_is_scaled_to_8_bits(tmp_path):
    bgr16 = np.zeros((4, 5, 3), np.uint16)
    bgr16[..., 2], bgr16[..., 1], bgr16[..., 0] = 65535, 32768, 25700  # R, G, B = 100 %, 50 %, 39 %
    cv2.imwrite(str(tmp_path / 'rgb16.png'), bgr16)
    cv2.imwrite(str(tmp_path / 'grey16.png'), np.full((3, 3), 40000, np.uint16))
    img = load(tmp_path / 'rgb16.png')
    assert img.dtype == np.uint8 and (img == (255, 128, 100)).all()
    grey = load(tmp_path / 'grey16.png')
    assert grey.shape == (3, 3, 3) and (grey == round(40000 / 257)).all()


def test_palette_and_grey_alpha_pngs_load_as_rgb(tmp_path):
    palette = Image.new('P', (4, 4))
    palette.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    palette.putpixel((1, 1), 1)
    palette.save(tmp_path / 'p.png')
    Image.new('LA', (3, 3), (90, 0)).save(tmp_path / 'la.png')  # fully transparent grey: value kept
    img = load(tmp_path / 'p.png')
    assert img.shape == (4, 4, 3) and tuple(img[1, 1]) == (10, 200, 30) and tuple(img[0, 0]) == (0, 0, 0)
    assert (load(tmp_path / 'la.png') == 90).all()


def test_tiny_image_loads_and_extreme_ones_are_bad(tmp_path):
    cv2.imwrite(str(tmp_path / 'dot.png'), np.full((1, 1, 3), 7, np.uint8))
    assert load(tmp_path / 'dot.png').shape == (1, 1, 3)
    cv2.imwrite(str(tmp_path / 'line.png'), np.zeros((1, 4000, 3), np.uint8))
    with pytest.raises(BadSampleError, match=r'1x4000 .*max_aspect_ratio'):
        load(tmp_path / 'line.png')
    assert load(tmp_path / 'line.png', max_aspect_ratio=None).shape == (1, 4000, 3)
    cv2.imwrite(str(tmp_path / 'gif_like.bmp'), np.zeros((30, 40, 3), np.uint8))  # no header probe
    with pytest.raises(BadSampleError, match='max_pixels=1000'):
        load(tmp_path / 'gif_like.bmp', max_pixels=1000)


def png_claiming(height, width):
    """A small valid PNG whose header (with a correct CRC) claims another size."""
    ok, data = cv2.imencode('.png', np.zeros((2, 2, 3), np.uint8))
    data = bytearray(data.tobytes())
    data[16:24] = width.to_bytes(4, 'big') + height.to_bytes(4, 'big')
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, 'big')
    return bytes(data)


def jpeg_claiming(height, width):
    ok, data = cv2.imencode('.jpg', np.zeros((8, 8, 3), np.uint8))
    data = bytearray(data.tobytes())
    sof = data.index(b'\xff\xc0')
    data[sof + 5:sof + 9] = height.to_bytes(2, 'big') + width.to_bytes(2, 'big')
    return bytes(data)


@pytest.mark.parametrize('encoded', [png_claiming(20000, 20000), jpeg_claiming(20000, 20000)],
                         ids=['png', 'jpeg'])
def test_huge_image_is_refused_from_its_header_without_decoding(tmp_path, monkeypatch, encoded):
    (tmp_path / 'huge').write_bytes(encoded)
    monkeypatch.setattr(loading, 'decode_rgb', lambda buffer: pytest.fail('decoded a 20000 x 20000 image'))
    with pytest.raises(BadSampleError, match=r'20000x20000 .*max_pixels'):
        load(tmp_path / 'huge')


def test_header_sizes():
    image = np.zeros((37, 53, 3), np.uint8)
    for ext, params in (('.png', []), ('.jpg', []), ('.jpg', [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])):
        assert peek_size(cv2.imencode(ext, image, params)[1].tobytes()) == (37, 53)
    for junk in (b'', b'\xff\xd8', b'\xff\xd8\xff\xe0\x00\x01', b'\x89PNG\r\n\x1a\n', b'GIF89a'):
        assert peek_size(junk) is None


@pytest.mark.parametrize('ext', ['.jpg', '.png'])
def test_truncated_image_is_bad(tmp_path, ext):
    noise = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    data = cv2.imencode(ext, noise)[1].tobytes()
    (tmp_path / f'cut{ext}').write_bytes(data[:len(data) * 2 // 3])
    with pytest.raises(BadSampleError, match='cannot decode'):
        load(tmp_path / f'cut{ext}')


# ------------------------------------------------------------------ annotation rows

def write_raw_csv(path, rows: bytes):
    path.write_bytes(b'image,image_id,caption,caption_id\n' + rows)


def test_bad_caption_rows_raise_or_are_dropped(toy_root, warnings):
    ann_file = toy_root / 'toy' / 'train_anno.csv'
    write_raw_csv(ann_file, b'000.jpg,1,a cat,1\n'
                            b'001.jpg,2,caf\xe9 latin-1,2\n'        # row 3: not UTF-8
                            b'002.jpg,3,nan,3\n'                    # row 4: a missing value as text
                            b'003.jpg,4,,4\n'                       # row 5: empty
                            b'004.jpg,5,NA,5\n'                     # row 6: a (short) real caption
                            b'005.jpg,6,"caf\xc3\xa9 ok",6\n')      # row 7: UTF-8, fine
    with pytest.raises(BadSampleError) as error:
        ImageTextDataset(data_root=str(toy_root), name='toy', on_error='raise')
    assert (error.value.row, error.value.column) == (3, 'caption') and 'UTF-8' in str(error.value)

    dataset = ImageTextDataset(data_root=str(toy_root), name='toy', on_error='skip', max_skip_ratio=0.5)
    assert [dataset.get_data_info(i)['caption'] for i in range(len(dataset))] == ['a cat', 'NA', 'café ok']
    assert [row for row, _ in dataset.policy.dropped_rows] == [3, 4, 5]
    assert dataset.skip_counts == dict(rows_read=6, rows_dropped=3, samples_skipped=0, replacements=0)
    assert "dataset 'toy'" in warnings[0] and 'dropped row 3' in warnings[0] and 'UTF-8' in warnings[0]
    assert 'dropped 3 of 6 rows' in warnings[-1] and 'rows 3, 4, 5' in warnings[-1]


def test_unparsable_record_does_not_hide_the_rows_after_it(toy_root):
    ann_file = toy_root / 'toy' / 'train_anno.csv'
    huge = b'x' * 200_000  # beyond the csv module's field limit
    write_raw_csv(ann_file, b'000.jpg,1,a cat,1\n001.jpg,2,' + huge + b',2\n002.jpg,3,a dog,3\n')
    with pytest.raises(BadSampleError, match=r'row 3: unparsable CSV record'):
        ImageTextDataset(data_root=str(toy_root), name='toy', on_error='raise')
    dataset = ImageTextDataset(data_root=str(toy_root), name='toy', max_skip_ratio=None)
    assert [dataset.get_data_info(i)['caption'] for i in range(len(dataset))] == ['a cat', 'a dog']


@pytest.mark.parametrize('on_error', ['raise', 'skip'])
def test_missing_column_is_an_error_under_both_policies(toy_root, on_error):
    write_csv(toy_root / 'toy' / 'train_anno.csv', ['image', 'caption', 'caption_id', 'extra'],
              [['0.jpg', 'a', '1', 'x']])
    with pytest.raises(ValueError, match=r"train_anno\.csv: missing required column\(s\) \['image_id'\]"):
        ImageTextDataset(data_root=str(toy_root), name='toy', on_error=on_error)


def test_duplicate_caption_ids_are_kept_and_counted(toy_root, warnings):
    write_csv(toy_root / 'toy' / 'train_anno.csv', HEADER,
              [['000.jpg', '1', 'a', 'c1'], ['001.jpg', '2', 'b', 'c1'], ['002.jpg', '3', 'c', 'c2'],
               ['003.jpg', '4', 'd', 'c2']])
    dataset = ImageTextDataset(data_root=str(toy_root), name='toy')
    assert len(dataset) == 4 and dataset.num_duplicate_caption_ids == 2
    assert warnings == ["[bad input] dataset 'toy': 2 rows of " + str(toy_root / 'toy' / 'train_anno.csv') +
                        ' repeat the caption_id of an earlier row (rows 3, 5); all are kept']


def test_too_many_bad_rows_stop_loading(toy_root):
    write_csv(toy_root / 'toy' / 'train_anno.csv', HEADER, [['000.jpg', '1', 'a', '1'], ['001.jpg', '2', '', '2']])
    with pytest.raises(TooManyBadSamplesError, match=r"dataset 'toy': 1 bad of 2 rows .*max_skip_ratio=0.01"):
        ImageTextDataset(data_root=str(toy_root), name='toy')


# ------------------------------------------------------------------ bad samples at load time

def test_policy_defaults_follow_test_mode(toy_root):
    assert ImageTextDataset(data_root=str(toy_root), name='toy').on_error == 'skip'
    assert ImageTextDataset(data_root=str(toy_root), name='toy', test_mode=True).on_error == 'raise'
    with pytest.raises(ValueError, match="on_error must be one of"):
        ImageTextDataset(data_root=str(toy_root), name='toy', on_error='ignore')


def test_bad_sample_is_replaced_by_the_next_one_and_counted_once(tmp_path, warnings, zerovl_scope):
    source = grey_source(tmp_path, 'grey', 10)
    (source / 'train' / '003.jpg').unlink()
    (source / 'train' / '009.jpg').write_bytes(b'')
    dataset = ImageTextDataset(data_root=str(tmp_path), name='grey', pipeline=LOAD, max_skip_ratio=0.2)
    for epoch in range(2):
        served = [dataset[i] for i in range(10)]
        assert [level(sample) for sample in served] == [0, 1, 2, 4, 4, 5, 6, 7, 8, 0]
        assert [sample['sample_idx'] for sample in served][3] == 4
    assert dataset.skip_counts == dict(rows_read=10, rows_dropped=0, samples_skipped=2, replacements=4)
    assert len(warnings) == 2  # each bad sample is logged once, not once per epoch
    assert "dataset 'grey': skipped sample 3:" in warnings[0] and 'row 5' in warnings[0]
    assert str(source / 'train' / '003.jpg') in warnings[0] and 'not found' in warnings[0]
    assert '0 bytes' in warnings[1] and 'limit max_skip_ratio=0.2 of 10 rows = 2' in warnings[1]


def test_skips_beyond_the_ratio_stop_with_the_dataset_named(tmp_path, zerovl_scope):
    source = grey_source(tmp_path, 'grey', 10)
    for i in (2, 6):
        (source / 'train' / f'{i:03d}.jpg').unlink()
    dataset = ImageTextDataset(data_root=str(tmp_path), name='grey', pipeline=LOAD, max_skip_ratio=0.1)
    assert level(dataset[2]) == 3  # 1 bad of 10 is within 10 %
    with pytest.raises(TooManyBadSamplesError) as error:
        dataset[6]
    message = str(error.value)
    assert "dataset 'grey': 2 bad of 10 rows" in message and '2 samples skipped in this process' in message
    assert 'row 4' in message and 'row 8' in message


def test_a_source_broken_as_a_whole_stops_quickly(tmp_path, zerovl_scope):
    source = grey_source(tmp_path, 'grey', 6)
    for path in (source / 'train').iterdir():
        path.unlink()
    dataset = ImageTextDataset(data_root=str(tmp_path), name='grey', pipeline=LOAD, max_skip_ratio=None)
    with pytest.raises(TooManyBadSamplesError, match=r"dataset 'grey': samples 2 to 1 \(of 6\) are all bad"):
        dataset[2]


def test_replacement_stays_in_the_same_source_of_a_concatenation(tmp_path, zerovl_scope):
    first = grey_source(tmp_path, 'first', 4)
    grey_source(tmp_path, 'second', 4)
    (first / 'train' / '003.jpg').unlink()
    concat = ConcatDataset([
        ImageTextDataset(data_root=str(tmp_path), name=name, pipeline=LOAD, max_skip_ratio=0.5)
        for name in ('first', 'second')])
    sample = concat[3]  # the last of 'first' is bad: its replacement wraps to first[0], not second[0]
    assert sample['dataset_name'] == 'first' and sample['sample_idx'] == 0
    assert concat.datasets[0].skip_counts['samples_skipped'] == 1
    assert concat.datasets[1].skip_counts['samples_skipped'] == 0


def test_workers_keep_full_batches_and_their_own_counts(tmp_path, zerovl_scope):
    source = grey_source(tmp_path, 'grey', 8)
    (source / 'train' / '005.jpg').write_bytes(b'<html>')
    dataset = ImageTextDataset(data_root=str(tmp_path), name='grey', pipeline=LOAD, max_skip_ratio=0.2)
    loader = DataLoader(dataset, batch_size=4, num_workers=2, collate_fn=list)
    batches = list(loader)
    assert [len(batch) for batch in batches] == [4, 4]
    assert [level(sample) for sample in batches[1]] == [4, 6, 6, 7]
    # Counted in the worker that met it; the main process saw none (see bad_input_policy.py).
    assert dataset.skip_counts['samples_skipped'] == 0
