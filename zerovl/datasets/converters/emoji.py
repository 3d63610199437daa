"""Convert npm's ``emoji-datasource-google`` into ZeroVL's layout: real image-caption pairs that install offline.

Source (the npm package folder, e.g. ``data/npm/node_modules/emoji-datasource-google``)::

    emoji.json                 one record per emoji: name, short_names, image, has_img_google, ...
    img/google/64/<image>      64 x 64 RGBA PNGs (the base emoji; skin-tone variants are not used)

Output, the layout ``ImageTextDataset`` reads::

    {out_root}/{name}/{split}_anno.csv   image,image_id,caption,caption_id   (split: train, valid)
    {out_root}/{name}/{split}/<image>    the PNG composited on white, saved as an RGB PNG

Captions (one CSV row each, all rows of an image in the same split):

* the emoji's Unicode name, lowercased: 'FACE WITH TEARS OF JOY' -> 'face with tears of joy';
* each short name that is made of words, with '_' and '-' read as spaces: 'joy', 'barely sunny'.
  Short names that are codes rather than words are left out: region codes ('flag-eg': the name already
  says 'egypt flag') and anything with digits or signs ('u7121', 'cat2', 'clock130', '+1').
* A caption names one image only. Two images offering the same text would be false negatives for each
  other in the contrastive loss, and a caption with two right answers cannot be scored in retrieval. So an
  image's name outranks another image's short name ('cat' stays with CAT, CAT FACE keeps 'cat face'), and
  a text offered at the same rank by several images is removed from all of them. An image left with no
  caption is dropped and reported (in 16.0.0: one of the two records named 'MAN IN TUXEDO').

Skin-tone variants are skipped: they would share their base emoji's captions, and a variant on the other
side of the split would leak the held-out image into training. The held-out split is drawn by image with a
seeded shuffle of the images sorted by file name, so it depends only on the package contents and the seed.
"""
import csv
import json
import os
import os.path as osp
import random
import re
from collections import defaultdict
from typing import Dict, List, NamedTuple, Sequence, Tuple

from PIL import Image, UnidentifiedImageError

__all__ = ['EmojiFormatError', 'EmojiImage', 'DEFAULT_PACKAGE_DIR', 'NPM_PACKAGE', 'read_emoji_images',
           'assign_captions', 'split_images', 'convert_emoji_dataset']

NPM_PACKAGE = 'emoji-datasource-google@16.0.0'
DEFAULT_PACKAGE_DIR = 'data/npm/node_modules/emoji-datasource-google'
IMAGE_SUBDIR = osp.join('img', 'google', '64')
CSV_HEADER = ('image', 'image_id', 'caption', 'caption_id')
INSTALL_HINT = f'install it with `make real-assets` (npm install --prefix data/npm {NPM_PACKAGE})'

# Caption ranks: when two images offer the same text, the lower rank keeps it.
NAME_RANK, SHORT_NAME_RANK = 0, 1
_WORDY_SHORT_NAME = re.compile(r'[a-z]+(?:[_-][a-z]+)*')
_REGION_CODE = re.compile(r'flag-[a-z]{2}')  # wordy by the pattern above, but 'eg' is no word


class EmojiFormatError(ValueError):
    """The package's emoji.json or one of its images is not usable; the message names the file."""


class EmojiImage(NamedTuple):
    """One base emoji: its PNG file name and its candidate captions as (text, rank) pairs."""
    image: str
    candidates: Tuple[Tuple[str, int], ...]


# ------------------------------------------------------------------ reading the package

def read_emoji_images(package_dir: str) -> List[EmojiImage]:
    """Every base emoji with a Google image, in emoji.json order, with its candidate captions."""
    json_path = osp.join(package_dir, 'emoji.json')
    records = _load_records(package_dir, json_path)
    images = []
    for index, record in enumerate(records):
        where = f'{json_path}: record {index}'
        if not isinstance(record, dict):
            raise EmojiFormatError(f'{where} is not an object')
        name, short_names, image = (_require(record, key, where) for key in ('name', 'short_names', 'image'))
        if not record.get('has_img_google', True):
            continue  # the Google set has no picture for it
        if not isinstance(short_names, list):
            raise EmojiFormatError(f"{where} ({name!r}): 'short_names' is not a list")
        images.append(EmojiImage(str(image), candidate_captions(str(name), [str(s) for s in short_names])))
    return images


def _load_records(package_dir: str, json_path: str) -> list:
    if not osp.isdir(package_dir):
        raise FileNotFoundError(f'emoji package folder not found: {osp.abspath(package_dir)}; {INSTALL_HINT}')
    if not osp.isfile(json_path):
        raise FileNotFoundError(f'{osp.abspath(json_path)} not found: {package_dir} is not an '
                                f'emoji-datasource package (or an incomplete one); {INSTALL_HINT}')
    try:
        with open(json_path, encoding='utf-8') as f:
            records = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise EmojiFormatError(f'{json_path} is not valid JSON ({error}); reinstall the package') from None
    if not isinstance(records, list):
        raise EmojiFormatError(f'{json_path}: expected a top-level list of emoji records, got {type(records).__name__}')
    return records


def _require(record: dict, key: str, where: str):
    if record.get(key) is None:
        raise EmojiFormatError(f'{where} has no {key!r}')
    return record[key]


def candidate_captions(name: str, short_names: Sequence[str]) -> Tuple[Tuple[str, int], ...]:
    """The name, then the wordy short names, normalised, each once, with its rank."""
    candidates = [(normalise_caption(name), NAME_RANK)]
    for short_name in short_names:
        if _REGION_CODE.fullmatch(short_name) or not _WORDY_SHORT_NAME.fullmatch(short_name):
            continue
        text = normalise_caption(short_name.replace('_', ' ').replace('-', ' '))
        if all(text != seen for seen, _ in candidates):
            candidates.append((text, SHORT_NAME_RANK))
    return tuple(candidates)


def normalise_caption(text: str) -> str:
    return ' '.join(text.lower().split())


# ------------------------------------------------------------------ captions and split

def assign_captions(images: Sequence[EmojiImage]) -> Tuple[Dict[str, List[str]], List[str]]:
    """``{image: its captions}`` with every text owned by one image, and the images left without any."""
    offers = defaultdict(list)  # text -> [(rank, image)]
    for emoji in images:
        for text, rank in emoji.candidates:
            offers[text].append((rank, emoji.image))
    owner = {}
    for text, offered in offers.items():
        best = min(rank for rank, _ in offered)
        claimants = {image for rank, image in offered if rank == best}
        if len(claimants) == 1:
            owner[text] = claimants.pop()
    captions, dropped = {}, []
    for emoji in images:
        kept = [text for text, _ in emoji.candidates if owner.get(text) == emoji.image]
        if kept:
            captions[emoji.image] = kept
        else:
            dropped.append(emoji.image)
    return captions, dropped


def split_images(images: Sequence[str], valid_fraction: float, seed: int) -> Dict[str, List[str]]:
    """``{'train': [...], 'valid': [...]}``: a seeded shuffle of the sorted images, cut at the fraction."""
    if not 0 < valid_fraction < 1:
        raise ValueError(f'valid_fraction must be in (0, 1), got {valid_fraction}')
    order = sorted(images)
    random.Random(seed).shuffle(order)
    num_valid = max(1, round(valid_fraction * len(order)))
    return dict(train=sorted(order[num_valid:]), valid=sorted(order[:num_valid]))


# ------------------------------------------------------------------ writing the layout

def composite_on_white(png_path: str) -> Image.Image:
    """The PNG as an RGB image, transparent pixels blended onto white.

    Our loader (OpenCV, like PIL's convert('RGB')) drops alpha without blending, which would show the
    arbitrary colour stored under fully transparent pixels (often black) around every emoji.
    """
    try:
        with Image.open(png_path) as image:
            rgba = image.convert('RGBA')
    except FileNotFoundError:
        raise EmojiFormatError(f'image listed in emoji.json is missing: {png_path}; reinstall the package') from None
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise EmojiFormatError(f'{png_path} is not a readable image ({error}); reinstall the package') from None
    white = Image.new('RGBA', rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert('RGB')


def convert_emoji_dataset(package_dir: str, out_root: str, name: str = 'emoji', valid_fraction: float = 0.15,
                          seed: int = 0) -> dict:
    """Write ``{out_root}/{name}/{train,valid}_anno.csv`` and the image folders; return a summary.

    image_id is the image's position among all kept images sorted by file name and caption_id runs over
    all rows of both splits, so both stay the same whatever the seed.
    """
    images = read_emoji_images(package_dir)
    captions, dropped = assign_captions(images)
    image_ids = {image: index for index, image in enumerate(sorted(captions))}
    splits = split_images(list(captions), valid_fraction, seed)
    dataset_dir = osp.join(out_root, name)
    caption_ids = _caption_ids(captions, image_ids)
    summary = dict(root=osp.abspath(dataset_dir), records=len(images), dropped_images=dropped, splits={})
    for split, members in splits.items():
        rows = [(image, image_ids[image], text, caption_ids[image, text])
                for image in members for text in captions[image]]
        _write_images(package_dir, osp.join(dataset_dir, split), members)
        anno = osp.join(dataset_dir, f'{split}_anno.csv')
        _write_csv(anno, rows)
        summary['splits'][split] = dict(images=len(members), captions=len(rows), anno=anno)
    return summary


def _caption_ids(captions: Dict[str, List[str]], image_ids: Dict[str, int]) -> Dict[Tuple[str, str], int]:
    pairs = [(image, text) for image in sorted(captions, key=image_ids.get) for text in captions[image]]
    return {pair: index for index, pair in enumerate(pairs)}


def _write_images(package_dir: str, folder: str, images: Sequence[str]) -> None:
    os.makedirs(folder, exist_ok=True)
    source_dir = osp.join(package_dir, IMAGE_SUBDIR)
    for image in images:
        rgb = composite_on_white(osp.join(source_dir, image))
        rgb.save(osp.join(folder, image), format='PNG')


def _write_csv(path: str, rows: Sequence[tuple]) -> None:
    with open(path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.writer(f)
        writer.writerow(CSV_HEADER)
        writer.writerows(rows)
