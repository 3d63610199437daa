"""Writers for tiny on-disk image-text sources in the ZeroVL layout, shared by the tests of this folder."""
import csv
from pathlib import Path

import cv2
import numpy as np

VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'photo', 'of', 'red', 'green', 'blue', 'cat',
         'dog', 'square', 'na', '##s', '.']
RED_RGB = (255, 0, 0)
# Six images of 32x48 (HxW); the first is pure red so that channel order can be checked after loading.
TOY_COLOURS_RGB = [RED_RGB, (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (128, 128, 128)]
TOY_CAPTIONS = ['a red square.', 'a green square.', 'a blue photo of a cat', 'Two Dogs', 'NA', 'grey']
TOY_SIZE = (32, 48)


def write_csv(path: Path, header, rows) -> None:
    with open(path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def write_rgb_jpeg(path: Path, rgb, size=TOY_SIZE) -> None:
    img = np.zeros((*size, 3), np.uint8)
    img[:] = rgb
    # cv2 writes BGR: flip so that the file really holds the RGB colour asked for.
    assert cv2.imwrite(str(path), img[:, :, ::-1].copy())


def make_source(data_root: Path, name: str, split: str = 'train', colours=TOY_COLOURS_RGB,
                captions=TOY_CAPTIONS) -> Path:
    """Write ``{data_root}/{name}/{split}_anno.csv`` and one JPEG per row under ``{split}/``."""
    img_dir = data_root / name / split
    img_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (colour, caption) in enumerate(zip(colours, captions)):
        write_rgb_jpeg(img_dir / f'{i:03d}.jpg', colour)
        # An extra column, as real exports have, must be ignored.
        rows.append([f'{i:03d}.jpg', f'img{i}', caption, f'cap{i}', 'extra'])
    ann_file = data_root / name / f'{split}_anno.csv'
    write_csv(ann_file, ['image', 'image_id', 'caption', 'caption_id', 'url'], rows)
    return ann_file
