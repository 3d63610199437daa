"""tools/dataset_converters/emoji_to_csv.py on a hand-made emoji-datasource package, and on the real one when installed."""
import csv
import json
import os.path as osp
from collections import defaultdict

import numpy as np
import pytest
from PIL import Image

from zerovl.datasets import ImageTextDataset
from zerovl.datasets.converters.emoji import (DEFAULT_PACKAGE_DIR, NPM_PACKAGE, EmojiFormatError, assign_captions,
                                   convert_emoji_dataset, read_emoji_images, split_images)
from zerovl.datasets.transforms.loading import LoadImageFromFile
from zerovl.testing import load_script as load_script_at

SCRIPT = 'tools/dataset_converters/emoji_to_csv.py'
HEADER = ['image', 'image_id', 'caption', 'caption_id']

# Each record exercises one caption rule (see zerovl/datasets/converters/emoji.py).
RECORDS = [
    dict(name='GRINNING FACE', short_names=['grinning'], image='1f600.png', has_img_google=True),
    dict(name='FACE WITH TEARS OF JOY', short_names=['joy'], image='1f602.png', has_img_google=True),
    # A name outranks another image's short name: CAT keeps 'cat'; 'cat2' has a digit, so it is a code.
    dict(name='CAT', short_names=['cat2'], image='1f408.png', has_img_google=True),
    dict(name='CAT FACE', short_names=['cat'], image='1f431.png', has_img_google=True),
    # Same name twice: removed from both; the first is left with nothing and is dropped.
    dict(name='MAN IN TUXEDO', short_names=['man_in_tuxedo'], image='1f935-200d-2642-fe0f.png',
         has_img_google=True),
    dict(name='MAN IN TUXEDO', short_names=['person_in_tuxedo'], image='1f935.png', has_img_google=True),
    # Region codes are not captions; mixed-case names are lowercased.
    dict(name='Egypt Flag', short_names=['flag-eg'], image='1f1ea-1f1ec.png', has_img_google=True),
    # Several wordy short names: all kept, '_' read as a space.
    dict(name='SUN BEHIND LARGE CLOUD', short_names=['barely_sunny', 'sun_behind_cloud'], image='1f325-fe0f.png',
         has_img_google=True),
    dict(name='SUN BEHIND CLOUD', short_names=['partly_sunny'], image='26c5.png', has_img_google=True),
    # No Google picture: skipped without looking for its file.
    dict(name='NOT DRAWN', short_names=['absent'], image='ffff.png', has_img_google=False),
]
EXPECTED_CAPTIONS = {
    '1f600.png': ['grinning face', 'grinning'],
    '1f602.png': ['face with tears of joy', 'joy'],
    '1f408.png': ['cat'],
    '1f431.png': ['cat face'],
    '1f935.png': ['person in tuxedo'],
    '1f1ea-1f1ec.png': ['egypt flag'],
    '1f325-fe0f.png': ['sun behind large cloud', 'barely sunny'],
    '26c5.png': ['sun behind cloud', 'partly sunny'],
}
COLOUR = (200, 30, 60)


def load_script():
    return load_script_at(SCRIPT)


def read_csv(path):
    with open(path, newline='', encoding='utf-8') as f:
        return list(csv.reader(f))


def write_png(path, size=8):
    """Left half opaque COLOUR, right half fully transparent with black stored under it, one half-alpha pixel."""
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[:, :size // 2] = (*COLOUR, 255)
    rgba[0, 0] = (0, 0, 0, 128)
    Image.fromarray(rgba, 'RGBA').save(path)


@pytest.fixture
def package(tmp_path):
    root = tmp_path / 'emoji-datasource-google'
    (root / 'img' / 'google' / '64').mkdir(parents=True)
    (root / 'emoji.json').write_text(json.dumps(RECORDS))
    for record in RECORDS:
        if record['has_img_google']:
            write_png(root / 'img' / 'google' / '64' / record['image'])
    return root


def test_captions_follow_the_documented_rules(package):
    captions, dropped = assign_captions(read_emoji_images(str(package)))
    assert captions == EXPECTED_CAPTIONS
    assert dropped == ['1f935-200d-2642-fe0f.png']


def test_split_is_seeded_deterministic_and_by_image():
    images = [f'{i:04x}.png' for i in range(40)]
    first = split_images(images, 0.15, seed=0)
    assert first == split_images(list(reversed(images)), 0.15, seed=0)  # input order does not matter
    assert len(first['valid']) == 6 and sorted(first['train'] + first['valid']) == images
    assert split_images(images, 0.15, seed=1)['valid'] != first['valid']
    with pytest.raises(ValueError, match='valid_fraction'):
        split_images(images, 1.0, seed=0)


def test_cli_writes_the_layout_that_image_text_dataset_reads(package, tmp_path, capsys):
    out_root = tmp_path / 'data'
    assert load_script().main([str(package), str(out_root), '--valid-fraction', '0.25', '--seed', '3']) == 0
    printed = capsys.readouterr().out
    assert 'dropped (every caption shared with another image): 1f935-200d-2642-fe0f.png' in printed
    rows = {split: read_csv(out_root / 'emoji' / f'{split}_anno.csv') for split in ('train', 'valid')}
    assert all(table[0] == HEADER for table in rows.values())
    body = [row for table in rows.values() for row in table[1:]]
    # Every caption exactly once, image ids one per image, caption ids unique.
    by_image = defaultdict(list)
    for image, _, caption, _ in body:
        by_image[image].append(caption)
    assert dict(by_image) == EXPECTED_CAPTIONS
    assert len({(row[0], row[1]) for row in body}) == len(EXPECTED_CAPTIONS) == len({row[1] for row in body})
    assert sorted(int(row[3]) for row in body) == list(range(len(body)))
    # The split is by image: no image on both sides; 25 % of 8 images held out.
    valid_images = {row[0] for row in rows['valid'][1:]}
    assert len(valid_images) == 2 and not valid_images & {row[0] for row in rows['train'][1:]}

    dataset = ImageTextDataset(data_root=str(out_root), name='emoji', split='valid',
                               pipeline=[LoadImageFromFile()], test_mode=True)
    sample = dataset[0]
    img = sample['img']
    assert img.shape == (8, 8, 3) and img.dtype == np.uint8
    assert tuple(img[4, 0]) == COLOUR           # opaque: the emoji's colour
    assert tuple(img[4, 7]) == (255, 255, 255)  # transparent: white, not the black stored under it
    assert tuple(img[0, 0]) in {(127, 127, 127), (128, 128, 128)}  # half alpha: half way to white
    assert sample['caption'] in EXPECTED_CAPTIONS[osp.basename(sample['img_path'])]


def test_missing_package_names_the_folder_and_the_install_command(tmp_path, capsys):
    missing = tmp_path / 'nowhere'
    assert load_script().main([str(missing), str(tmp_path / 'data')]) == 1
    message = capsys.readouterr().err
    assert str(missing) in message and NPM_PACKAGE in message
    missing.mkdir()
    with pytest.raises(FileNotFoundError, match='emoji.json'):
        read_emoji_images(str(missing))


def test_corrupt_json_and_records_name_the_file(package):
    json_path = package / 'emoji.json'
    json_path.write_text('[{"name": ')
    with pytest.raises(EmojiFormatError, match=f'{json_path}.*not valid JSON'):
        read_emoji_images(str(package))
    json_path.write_text(json.dumps([RECORDS[0], dict(short_names=[], image='x.png')]))
    with pytest.raises(EmojiFormatError, match=f"{json_path}: record 1 has no 'name'"):
        read_emoji_images(str(package))


def test_missing_or_corrupt_png_names_the_image(package, tmp_path):
    image_dir = package / 'img' / 'google' / '64'
    (image_dir / '1f602.png').unlink()
    with pytest.raises(EmojiFormatError, match='missing: .*1f602.png'):
        convert_emoji_dataset(str(package), str(tmp_path / 'a'), valid_fraction=0.5)
    (image_dir / '1f602.png').write_bytes(b'not a png')
    with pytest.raises(EmojiFormatError, match='1f602.png is not a readable image'):
        convert_emoji_dataset(str(package), str(tmp_path / 'b'), valid_fraction=0.5)


def test_real_package_converts_to_the_documented_counts(tmp_path):
    """emoji-datasource-google 16.0.0: 1,911 base emoji, one dropped, 15 % of 1,910 images held out."""
    if not osp.isfile(osp.join(DEFAULT_PACKAGE_DIR, 'emoji.json')):
        pytest.skip(f'npm package {NPM_PACKAGE} not found in {DEFAULT_PACKAGE_DIR} (make real-assets)')
    with open(osp.join(DEFAULT_PACKAGE_DIR, 'package.json'), encoding='utf-8') as f:
        version = json.load(f)['version']
    assert version == '16.0.0', f'the counts below are those of {NPM_PACKAGE}, found {version}'
    summary = convert_emoji_dataset(DEFAULT_PACKAGE_DIR, str(tmp_path), seed=0)
    assert summary['records'] == 1911 and summary['dropped_images'] == ['1f935-200d-2642-fe0f.png']
    splits = summary['splits']
    assert (splits['train']['images'], splits['valid']['images']) == (1624, 286)
    assert (splits['train']['captions'], splits['valid']['captions']) == (2133, 376)
    rows = [row for split in ('train', 'valid') for row in read_csv(tmp_path / 'emoji' / f'{split}_anno.csv')[1:]]
    owners = defaultdict(set)
    for image, _, caption, _ in rows:
        owners[caption].add(image)
    assert all(len(images) == 1 for images in owners.values()), 'a caption names two images'
    assert owners['face with tears of joy'] == owners['joy'] == {'1f602.png'}
    image = LoadImageFromFile().transform(dict(img_path=str(tmp_path / 'emoji' / 'valid' / rows[-1][0])))['img']
    assert image.shape == (64, 64, 3)
