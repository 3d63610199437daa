"""tools/dataset_converters/karpathy_to_csv.py on a hand-made Karpathy JSON of four images."""
import csv
import json
import os.path as osp

import cv2
import numpy as np
import pytest

from zerovl.datasets import ImageTextDataset
from zerovl.datasets.converters.karpathy import KarpathyFormatError, convert_karpathy
from zerovl.testing import load_script as load_script_at

SCRIPT = 'tools/dataset_converters/karpathy_to_csv.py'
HEADER = ['image', 'image_id', 'caption', 'caption_id']

# One image per Karpathy split; captions carry commas, quotes and padding the CSV must keep/strip.
IMAGES = [
    dict(filepath='val2014', filename='b.jpg', imgid=0, split='test',
         sentences=[dict(raw=' A dog, "running" fast. ', sentid=1, tokens=[]),
                    dict(raw='Two cats', sentid=0, tokens=[])]),
    dict(filepath='train2014', filename='a.jpg', imgid=1, split='train',
         sentences=[dict(raw='A man, a plan', sentid=2, tokens=[])]),
    dict(filepath='val2014', filename='c.jpg', imgid=2, split='restval',
         sentences=[dict(raw="It's a \"quoted\" one", sentid=3, tokens=[])]),
    dict(filepath='val2014', filename='d.jpg', imgid=3, split='val',
         sentences=[dict(raw='plain', sentid=4, tokens=[])]),
]
TEST_ROWS = [['val2014/b.jpg', '0', 'Two cats', '0'],
             ['val2014/b.jpg', '0', 'A dog, "running" fast.', '1']]


def load_script():
    return load_script_at(SCRIPT)


def read_csv(path):
    with open(path, newline='', encoding='utf-8') as f:
        return list(csv.reader(f))


@pytest.fixture
def karpathy(tmp_path):
    """The JSON, plus a tiny JPEG at every filepath/filename under an image root."""
    json_path = tmp_path / 'dataset_coco.json'
    json_path.write_text(json.dumps(dict(images=IMAGES, dataset='coco')))
    image_root = tmp_path / 'coco_images'
    for entry in IMAGES:
        (image_root / entry['filepath']).mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(image_root / entry['filepath'] / entry['filename']), np.zeros((8, 8, 3), np.uint8))
    return json_path, image_root


def test_cli_writes_the_four_csvs_and_links(karpathy, tmp_path, capsys):
    json_path, image_root = karpathy
    out_root = tmp_path / 'data'
    assert load_script().main([str(json_path), str(image_root), str(out_root), 'coco', '--link-images']) == 0
    base = out_root / 'coco'
    assert read_csv(base / 'test_anno.csv') == [HEADER] + TEST_ROWS
    assert read_csv(base / 'valid_anno.csv') == [HEADER] + TEST_ROWS
    assert read_csv(base / 'train_anno.csv') == [HEADER, ['train2014/a.jpg', '1', 'A man, a plan', '2'],
                                                 ['val2014/c.jpg', '2', 'It\'s a "quoted" one', '3']]
    assert read_csv(base / 'val_anno.csv') == [HEADER, ['val2014/d.jpg', '3', 'plain', '4']]
    for split in ('train', 'val', 'test', 'valid'):
        assert osp.realpath(base / split) == osp.realpath(image_root)
    out = capsys.readouterr().out
    assert 'train_anno.csv: 2 images, 2 captions' in out
    assert 'valid_anno.csv: 1 images, 2 captions' in out


def test_image_text_dataset_reads_the_valid_split(karpathy, tmp_path):
    json_path, image_root = karpathy
    convert_karpathy(str(json_path), str(image_root), str(tmp_path / 'data'), 'coco', link_images=True)
    dataset = ImageTextDataset(data_root=str(tmp_path / 'data'), name='coco', split='valid')
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert [info['caption'] for info in infos] == ['Two cats', 'A dog, "running" fast.']
    assert all(cv2.imread(info['img_path']) is not None for info in infos)


def test_without_link_images_the_folders_are_printed(karpathy, tmp_path, capsys):
    json_path, image_root = karpathy
    assert load_script().main([str(json_path), str(image_root), str(tmp_path / 'data'), 'coco']) == 0
    assert not osp.exists(tmp_path / 'data' / 'coco' / 'valid')
    assert 'image folders not created' in capsys.readouterr().out


def test_missing_key_names_the_json_and_the_image(tmp_path, capsys):
    broken = [dict(IMAGES[0]), {k: v for k, v in IMAGES[1].items() if k != 'split'}]
    json_path = tmp_path / 'dataset_flickr30k.json'
    json_path.write_text(json.dumps(dict(images=broken)))
    with pytest.raises(KarpathyFormatError, match=r"dataset_flickr30k\.json: images\[1\] has no 'split' key"):
        convert_karpathy(str(json_path), str(tmp_path), str(tmp_path / 'data'), 'f30k')
    assert load_script().main([str(json_path), str(tmp_path), str(tmp_path / 'data'), 'f30k']) == 1
    assert "images[1] has no 'split' key" in capsys.readouterr().err
