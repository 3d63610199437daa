"""A folder of images with their captions -> ZeroVL annotation CSVs, split into train and held-out images.

Captions come from either

* a text file next to each image, same name with ``.txt`` (``cat.jpg`` + ``cat.txt``; one caption per
  non-empty line), the layout img2dataset and most scrapers write, or
* one CSV with columns ``image,caption`` (one row per caption; ``image`` relative to the folder).

Output, the layout ``ImageTextDataset`` and configs/_base_/datasets/custom_csv.py read::

    {out_root}/{name}/train_anno.csv   {out_root}/{name}/train -> the image folder (symlink)
    {out_root}/{name}/valid_anno.csv   {out_root}/{name}/valid -> the image folder (symlink)

The held-out images are drawn with a seeded shuffle, by image (all captions of an image on one side), so
retrieval is measured on images the model never trained on.
"""
import csv
import math
import os
import os.path as osp
import random
from typing import Dict, List, Optional

from .karpathy import link_image_folder, write_annotation_csv

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


class CaptionFolderError(ValueError):
    """The folder or the captions file cannot be converted; the message names the file."""


def find_images(image_dir: str) -> List[str]:
    """Image files under ``image_dir`` (recursively), as sorted paths relative to it."""
    found = []
    for folder, _, files in os.walk(image_dir):
        for file in files:
            if file.lower().endswith(IMAGE_EXTENSIONS):
                found.append(osp.relpath(osp.join(folder, file), image_dir))
    return sorted(found)


def sidecar_captions(image_dir: str, images: List[str]) -> Dict[str, List[str]]:
    """Captions from ``<image stem>.txt`` next to each image; images without one are left out."""
    captions = {}
    for image in images:
        text_file = osp.join(image_dir, osp.splitext(image)[0] + '.txt')
        if osp.isfile(text_file):
            with open(text_file, encoding='utf-8') as f:
                lines = [line.strip() for line in f if line.strip()]
            if lines:
                captions[image] = lines
    return captions


def csv_captions(captions_file: str, image_dir: str) -> Dict[str, List[str]]:
    """Captions from a CSV with columns image,caption; a row naming a missing image is an error."""
    captions: Dict[str, List[str]] = {}
    with open(captions_file, newline='', encoding='utf-8-sig') as f:
        reader = csv.DictReader(f)
        missing = {'image', 'caption'} - set(reader.fieldnames or ())
        if missing:
            raise CaptionFolderError(f'{captions_file}: needs the columns image,caption; missing '
                                     f'{", ".join(sorted(missing))} (header: {reader.fieldnames})')
        for row in reader:
            image, caption = (row['image'] or '').strip(), (row['caption'] or '').strip()
            if not osp.isfile(osp.join(image_dir, image)):
                raise CaptionFolderError(f'{captions_file} line {reader.line_num}: image {image!r} is not a file '
                                         f'in {osp.abspath(image_dir)}')
            if caption:
                captions.setdefault(image, []).append(caption)
    return captions


def split_images(images: List[str], val_fraction: float, seed: int) -> Dict[str, List[str]]:
    """``{'train': [...], 'valid': [...]}``: ``val_fraction`` of the images (at least one) held out."""
    if not 0 < val_fraction < 1:
        raise CaptionFolderError(f'val_fraction must be between 0 and 1, got {val_fraction}')
    if len(images) < 2:
        raise CaptionFolderError(f'{len(images)} captioned image(s): need at least 2 (one to train on, one '
                                 'to hold out)')
    order = list(images)
    random.Random(seed).shuffle(order)
    held_out = set(order[:max(1, math.floor(val_fraction * len(order)))])
    return dict(train=[i for i in images if i not in held_out], valid=[i for i in images if i in held_out])


def convert_caption_folder(image_dir: str, out_root: str, name: str, captions_file: Optional[str] = None,
                           val_fraction: float = 0.1, seed: int = 0) -> dict:
    """Write ``{out_root}/{name}/{train,valid}_anno.csv`` and the image-folder links; returns the counts
    (images and captions per split, images skipped for having no caption) and the files written."""
    if not osp.isdir(image_dir):
        raise CaptionFolderError(f'image folder not found: {osp.abspath(image_dir)}')
    images = find_images(image_dir)
    captions = csv_captions(captions_file, image_dir) if captions_file else sidecar_captions(image_dir, images)
    captioned = sorted(captions)
    splits = split_images(captioned, val_fraction, seed)
    dataset_dir = osp.join(out_root, name)
    os.makedirs(dataset_dir, exist_ok=True)
    summary = dict(uncaptioned=len(set(images) - set(captions)), files=[])
    caption_id = 0
    for split, split_images_ in splits.items():
        rows = []
        for image in split_images_:
            for caption in captions[image]:
                rows.append((image, image, caption, caption_id))
                caption_id += 1
        ann_file = osp.join(dataset_dir, f'{split}_anno.csv')
        write_annotation_csv(ann_file, rows)
        link_image_folder(image_dir, osp.join(dataset_dir, split))
        summary[split] = dict(images=len(split_images_), captions=len(rows))
        summary['files'].append(ann_file)
    return summary
