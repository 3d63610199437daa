"""Fuzzing the data path: 1,000 broken or odd image byte strings and ~200 mutated CSV rows.

Whatever the bytes, the dataset + pipeline never crashes with an unnamed error and never hangs (each
test has a timeout): a sample loads as (H, W, 3) uint8, or raises a BadSampleError naming its row
under on_error='raise', or is skipped and counted under 'skip'; file and LMDB sources agree. Seeded
numpy RNG, so a failure replays exactly.
"""
import io
import re

import cv2
import numpy as np
import pytest
from PIL import Image

from zerovl.datasets import BadSampleError, ImageTextDataset, convert_csv_to_lmdb

pytestmark = pytest.mark.timeout(90)

NUM_IMAGES = 1000
NUM_ROWS = 200
# Small images decode in microseconds; a small pixel limit keeps a corrupted header that claims a
# large frame from costing a full-size decode of garbage.
PIPELINE = [dict(type='LoadImageFromFile', max_pixels=1 << 20),
            dict(type='ResizeImage', size=16, backend='cv2', interpolation='bilinear')]
_UNDECODABLE = re.compile('[\udc80-\udcff]')


def seed_images(rng):
    """Valid encodings of several kinds, the material the mutations start from."""
    smooth = cv2.GaussianBlur(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8), (5, 5), 2)
    encoded = [cv2.imencode('.jpg', smooth)[1].tobytes(),
               cv2.imencode('.jpg', smooth, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes(),
               cv2.imencode('.png', smooth)[1].tobytes(),
               cv2.imencode('.png', smooth[..., 0])[1].tobytes(),
               cv2.imencode('.png', np.dstack([smooth, smooth[..., :1]]))[1].tobytes(),
               cv2.imencode('.png', smooth.astype(np.uint16) * 257)[1].tobytes()]
    cmyk = io.BytesIO()
    Image.fromarray(smooth).convert('CMYK').save(cmyk, 'JPEG')
    return encoded + [cmyk.getvalue()]


def mutate(rng, seeds) -> bytes:
    data = seeds[int(rng.integers(len(seeds)))]
    kind = int(rng.integers(8))
    if kind == 0:  # truncated anywhere, header included
        return data[:int(rng.integers(0, len(data)))]
    if kind in (1, 2):  # a few flipped bytes, in the header (kind 2) or anywhere
        out = bytearray(data)
        span = min(len(out), 64) if kind == 2 else len(out)
        for position in rng.integers(0, span, size=int(rng.integers(1, 9))):
            out[position] ^= int(rng.integers(1, 256))
        return bytes(out)
    if kind == 3:  # random bytes, sometimes behind a real signature
        noise = rng.integers(0, 256, size=int(rng.integers(0, 2048)), dtype=np.uint8).tobytes()
        return (data[:int(rng.integers(0, 12))] + noise) if rng.random() < 0.5 else noise
    if kind == 4:
        return b''
    if kind == 5:  # the head of one image spliced onto the tail of another
        other = seeds[int(rng.integers(len(seeds)))]
        return data[:int(rng.integers(1, len(data)))] + other[int(rng.integers(0, len(other))):]
    if kind == 6:  # trailing junk after a complete image
        return data + rng.integers(0, 256, size=int(rng.integers(1, 200)), dtype=np.uint8).tobytes()
    return data  # intact


@pytest.fixture(scope='module')
def image_fuzz(tmp_path_factory):
    """A source whose 1,000 images are fuzzed byte strings, and its LMDB copy."""
    rng = np.random.default_rng(2024)
    root = tmp_path_factory.mktemp('fuzz_images')
    img_dir = root / 'fuzz' / 'train'
    img_dir.mkdir(parents=True)
    seeds = seed_images(rng)
    lines = [b'image,image_id,caption,caption_id']
    for i in range(NUM_IMAGES):
        (img_dir / f'{i:04d}.jpg').write_bytes(mutate(rng, seeds))
        lines.append(f'{i:04d}.jpg,{i},caption {i},{i}'.encode())
    (root / 'fuzz' / 'train_anno.csv').write_bytes(b'\n'.join(lines) + b'\n')
    convert_csv_to_lmdb(str(root / 'fuzz' / 'train_anno.csv'), str(img_dir), str(root / 'fuzz' / 'train.lmdb'),
                        progress=False)
    return root


def outcomes(dataset):
    """Per index: the loaded image's shape, or the BadSampleError (anything else fails the test)."""
    results = []
    for i in range(len(dataset)):
        try:
            results.append(dataset[i]['img'].shape)
        except BadSampleError as error:
            assert error.row == i + 2 and error.column == 'image', str(error)
            assert f'{i:04d}.jpg' in str(error)
            results.append(error.reason)
    return results


@pytest.fixture(scope='module')
def file_outcomes(image_fuzz):
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('zerovl'):
        return outcomes(ImageTextDataset(data_root=str(image_fuzz), name='fuzz', pipeline=PIPELINE,
                                         on_error='raise'))


def test_fuzzed_images_load_or_raise_a_named_error(file_outcomes):
    loaded = [result for result in file_outcomes if isinstance(result, tuple)]
    bad = [result for result in file_outcomes if isinstance(result, str)]
    assert all(shape == (16, 16, 3) for shape in loaded)
    # The mutations really exercise both outcomes.
    assert len(loaded) > 150 and len(bad) > 400, (len(loaded), len(bad))
    assert any('0 bytes' in reason for reason in bad) and any('cannot decode' in reason for reason in bad)


def test_lmdb_source_gives_the_same_outcomes(image_fuzz, file_outcomes, zerovl_scope):
    dataset = ImageTextDataset(data_root=str(image_fuzz), name='fuzz', source='lmdb', pipeline=PIPELINE,
                               on_error='raise')
    assert outcomes(dataset) == file_outcomes


def test_fuzzed_images_are_skipped_and_counted(image_fuzz, file_outcomes, zerovl_scope, monkeypatch):
    from zerovl.datasets import bad_input_policy
    monkeypatch.setattr(bad_input_policy, 'print_log', lambda *args, **kwargs: None)  # ~700 lines
    bad = {i for i, result in enumerate(file_outcomes) if isinstance(result, str)}
    dataset = ImageTextDataset(data_root=str(image_fuzz), name='fuzz', pipeline=PIPELINE, on_error='skip',
                               max_skip_ratio=None)
    for i in range(NUM_IMAGES):
        sample = dataset[i]
        assert sample['img'].shape == (16, 16, 3) and sample['sample_idx'] not in bad
        assert (sample['sample_idx'] == i) == (i not in bad)
    assert dataset.skip_counts['samples_skipped'] == len(bad)


# ------------------------------------------------------------------ CSV rows

def random_text(rng) -> bytes:
    """A caption-like field: plain, empty, 'nan', binary, quoted, multi-line, huge, non-ASCII..."""
    kind = int(rng.integers(10))
    if kind == 0:
        return b''
    if kind == 1:
        return rng.choice([b'nan', b'NaN', b' ', b'NA', b'null'])
    if kind == 2:  # arbitrary bytes: invalid UTF-8, NUL, quotes, commas, line breaks
        return rng.integers(0, 256, size=int(rng.integers(1, 40)), dtype=np.uint8).tobytes()
    if kind == 3:
        return '"un café, à la crème 🍰"'.encode()
    if kind == 4:
        return b'"two\nlines"'
    if kind == 5:
        return b'"' + b'stray quote'  # swallows the following lines into one field
    if kind == 6 and rng.random() < 0.05:
        return b'y' * 140_000  # beyond the csv module's field limit
    return f'a photo of thing {int(rng.integers(1000))}'.encode()


def random_row(rng, index: int) -> bytes:
    image = rng.choice([b'ok.jpg', b'ok.jpg', b'ok.jpg', b'', b'missing.jpg', b'\xff\xfe.jpg'])
    fields = [image, str(index).encode(), random_text(rng), str(int(rng.integers(0, NUM_ROWS // 2))).encode()]
    shape = int(rng.integers(6))
    if shape == 0:
        fields = fields[:int(rng.integers(0, 4))]  # short row
    elif shape == 1:
        fields = fields + [b'extra', random_text(rng)]  # extra fields
    return b','.join(fields)


@pytest.fixture(scope='module')
def csv_fuzz(tmp_path_factory):
    rng = np.random.default_rng(7)
    root = tmp_path_factory.mktemp('fuzz_csv')
    img_dir = root / 'rows' / 'train'
    img_dir.mkdir(parents=True)
    cv2.imwrite(str(img_dir / 'ok.jpg'), np.full((20, 30, 3), 99, np.uint8))
    rows = [random_row(rng, i) for i in range(NUM_ROWS)]
    (root / 'rows' / 'train_anno.csv').write_bytes(b'image,image_id,caption,caption_id\n' + b'\n'.join(rows) + b'\n')
    return root


def test_fuzzed_rows_load_or_are_dropped_with_their_rows(csv_fuzz, vocab_file, zerovl_scope, monkeypatch):
    from zerovl.datasets import bad_input_policy
    monkeypatch.setattr(bad_input_policy, 'print_log', lambda *args, **kwargs: None)
    pipeline = [*PIPELINE, dict(type='CaptionAugment', tokenizer=vocab_file),
                dict(type='Tokenize', tokenizer=vocab_file, max_length=8), dict(type='PackImageTextInputs')]
    dataset = ImageTextDataset(data_root=str(csv_fuzz), name='rows', pipeline=pipeline, max_skip_ratio=None)
    policy = dataset.policy
    assert len(dataset) + len(policy.dropped_rows) == policy.rows_read > 0
    assert len(dataset) > 20 and len(policy.dropped_rows) > 20, (len(dataset), len(policy.dropped_rows))
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        caption = info['caption'].strip()
        assert caption and caption.lower() != 'nan' and not _UNDECODABLE.search(info['caption'] + info['image_id'])
    for i in range(len(dataset)):  # every kept row goes through the whole pipeline, or is skipped
        assert dataset[i]['inputs']['input_ids'].shape == (8,)
    assert dataset.skip_counts['samples_skipped'] == sum(
        not dataset.get_data_info(i)['img_path'].endswith('/ok.jpg') for i in range(len(dataset)))

    with pytest.raises(BadSampleError) as error:
        ImageTextDataset(data_root=str(csv_fuzz), name='rows', on_error='raise')
    assert error.value.row == policy.dropped_rows[0][0]


def test_lmdb_copy_of_fuzzed_rows_keeps_every_row_and_problem(csv_fuzz, monkeypatch):
    from zerovl.datasets import bad_input_policy
    monkeypatch.setattr(bad_input_policy, 'print_log', lambda *args, **kwargs: None)
    base = csv_fuzz / 'rows'
    convert_csv_to_lmdb(str(base / 'train_anno.csv'), str(base / 'train'), str(base / 'train.lmdb'), progress=False)
    files = ImageTextDataset(data_root=str(csv_fuzz), name='rows', max_skip_ratio=None)
    shards = ImageTextDataset(data_root=str(csv_fuzz), name='rows', source='lmdb', max_skip_ratio=None)
    assert shards.policy.dropped_rows == files.policy.dropped_rows
    assert [shards.get_data_info(i)['caption'] for i in range(len(shards))] == \
        [files.get_data_info(i)['caption'] for i in range(len(files))]
