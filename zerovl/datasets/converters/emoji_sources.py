"""Several emoji art sets into one multi-source image-caption set: sources that differ in images and captions.

ZeroVL trains on several sources of different style (CC3M, SBU, CC12M): other photographers and other
caption writers. The npm packages below draw largely the same concepts in their own art, and each source is
captioned from its own package's metadata, in its own way:

=========  ===============================  ======================================================  ===========
source     npm package (art, licence)       captions (one CSV row each)                              image
=========  ===============================  ======================================================  ===========
google     emoji-datasource-google 16.0.0   Unicode name + wordy short names (the single-source      64 px PNG
           (Noto, Apache-2.0)               converter's rules, zerovl/datasets/converters/emoji.py):
                                            'face with tears of joy', 'joy'
twitter    emoji-datasource-twitter 16.0.0  one sentence naming the emoji's subcategory:             64 px PNG
           (Twemoji, CC-BY-4.0)             'a face smiling emoji: face with tears of joy'
openmoji   openmoji 17.0.0                  its own CLDR annotation, then its own keyword tags       colour SVG,
           (OpenMoji, CC-BY-SA-4.0)         (CLDR tags + OpenMoji's tags, first 8) as a list:        rasterised
                                            'grinning face', 'cheerful, cheery, face, grin, ...'     at 64 px
=========  ===============================  ======================================================  ===========

google and twitter come from one metadata file (emoji-datasource ships the same emoji.json with every art
set), so their captions differ only in the fields used and how they are phrased: keywords for google, a
templated sentence with the category for twitter; that is the documented, deliberate style difference. OpenMoji's
annotations and tags are its own (data/openmoji.csv), and it adds ~400 concepts of its own (extras-openmoji).
The facebook and apple sets of emoji-datasource are left out: same metadata again, about 100 MB each, and
art that is not freely licensed.

Held-out split: **concept-disjoint across all sources**. A concept is the emoji's code-point sequence
(FE0F dropped, so 'u+2764 fe0f' and 'u+2764' are one concept); it is held out when a seeded hash of it falls
below ``valid_fraction``, in every source at once. An image-disjoint split per source would put twitter's
'face with tears of joy' in training while google's is held out, so held-out retrieval would only measure a
change of art style for a concept already trained; here no held-out concept is seen in any source.
A hash (rather than a shuffle) decides each concept alone, so the decision does not depend on which other
concepts a package has. Skin-tone variants are skipped in every source (their base emoji's captions).

Zero-shot labels: every image of the nine Unicode emoji groups ('smileys and emotion', ..., 'flags') is
also listed in ``{split}_groups.txt`` (``{split}/<image> <group index>``, the list-file layout of
ImageFolderDataset) with the group names in ``groups.txt``; OpenMoji's extras belong to no group and stay
out of that list only.

Output: ``{out_root}/{name}/{source}/{split}_anno.csv`` (+ images and group lists), the layout
``ImageTextDataset`` reads (docs/data_preparation.md), and ``{out_root}/{name}/summary.json``.
"""
import csv
import hashlib
import json
import os
import os.path as osp
import shutil
import subprocess
import tempfile
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

from .emoji import (NAME_RANK, SHORT_NAME_RANK, EmojiFormatError, _caption_ids, _load_records, _require, _write_csv,
                    assign_captions, candidate_captions, composite_on_white, normalise_caption)

__all__ = ['SOURCES', 'DEFAULT_SOURCES', 'ZERO_SHOT_GROUPS', 'SourceImage', 'concept_key', 'is_held_out',
           'read_datasource', 'read_openmoji', 'convert_emoji_sources']

SOURCES = {
    'google': dict(package='emoji-datasource-google', version='16.0.0'),
    'twitter': dict(package='emoji-datasource-twitter', version='16.0.0'),
    'openmoji': dict(package='openmoji', version='17.0.0'),
}
DEFAULT_SOURCES = tuple(SOURCES)
# The Unicode emoji groups in Unicode's order, in words (the zero-shot class names). 'Component' (skin-tone
# and hair swatches) is left out: a handful of images per source.
ZERO_SHOT_GROUPS = ('smileys and emotion', 'people and body', 'animals and nature', 'food and drink',
                    'travel and places', 'activities', 'objects', 'symbols', 'flags')
OPENMOJI_TAGS = 8  # tags kept per OpenMoji caption: the list is alphabetical, long lists only add noise
SIZE = 64


class SourceImage(NamedTuple):
    """One image of a source: its file inside the package, its concept, its group name ('' if none) and
    its candidate captions as (text, rank) pairs (the shape ``assign_captions`` reads)."""
    path: str
    image: str  # the file name written to the dataset
    concept: str
    group: str
    candidates: Tuple[Tuple[str, int], ...]


def concept_key(code_points: str) -> str:
    """'1f602' / '2764-FE0F' -> '1F602' / '2764': the same concept whatever the package's spelling."""
    return '-'.join(part for part in code_points.upper().split('-') if part and part != 'FE0F')


def is_held_out(concept: str, valid_fraction: float, seed: int) -> bool:
    digest = hashlib.sha1(f'{seed}:{concept}'.encode()).hexdigest()
    return int(digest[:12], 16) / 16 ** 12 < valid_fraction


def group_name(text: str) -> str:
    """'Smileys & Emotion' / 'smileys-emotion' -> 'smileys and emotion'; '' for a group outside the nine."""
    words = text.lower().replace('&', ' ').replace('-', ' ').split()
    if not words:
        return ''
    name = ' and '.join(words) if len(words) == 2 else ' '.join(words)
    return name if name in ZERO_SHOT_GROUPS else ''


def _check_package(package_dir: str, source: str) -> None:
    if not osp.isdir(package_dir):
        spec = SOURCES[source]
        raise FileNotFoundError(f'{source}: package folder not found: {osp.abspath(package_dir)}; install it with '
                                f'`make real-multisource` (npm install {spec["package"]}@{spec["version"]})')


# ------------------------------------------------------------------ emoji-datasource (google, twitter)

def names_captions(record: dict, where: str) -> Tuple[Tuple[str, int], ...]:
    """google's style: the single-source converter's keywords (name, wordy short names)."""
    short_names = _require(record, 'short_names', where)
    if not isinstance(short_names, list):
        raise EmojiFormatError(f"{where}: 'short_names' is not a list")
    return candidate_captions(str(record['name']), [str(s) for s in short_names])


def subcategory_sentence(record: dict, where: str) -> Tuple[Tuple[str, int], ...]:
    """twitter's style: one sentence, 'a face smiling emoji: face with tears of joy'."""
    subcategory = str(_require(record, 'subcategory', where)).replace('-', ' ')
    return ((normalise_caption(f'a {subcategory} emoji: {record["name"]}'), NAME_RANK),)


DATASOURCE_STYLES: Dict[str, Callable[[dict, str], Tuple[Tuple[str, int], ...]]] = dict(
    google=names_captions, twitter=subcategory_sentence)


def read_datasource(package_dir: str, source: str) -> List[SourceImage]:
    """Every base emoji the art set draws, in emoji.json order, captioned in the source's style."""
    _check_package(package_dir, source)
    json_path = osp.join(package_dir, 'emoji.json')
    images = []
    for index, record in enumerate(_load_records(package_dir, json_path)):
        where = f'{json_path}: record {index}'
        if not isinstance(record, dict):
            raise EmojiFormatError(f'{where} is not an object')
        name, image, unified = (_require(record, key, where) for key in ('name', 'image', 'unified'))
        if not record.get(f'has_img_{source}', True):
            continue
        where = f'{where} ({name!r})'
        images.append(SourceImage(osp.join('img', source, str(SIZE), str(image)), str(image), concept_key(str(unified)),
                                  group_name(str(record.get('category') or '')),
                                  DATASOURCE_STYLES[source](record, where)))
    return images


# ------------------------------------------------------------------ openmoji

OPENMOJI_COLUMNS = ('hexcode', 'group', 'annotation', 'tags', 'openmoji_tags', 'skintone')


def openmoji_captions(row: dict) -> Tuple[Tuple[str, int], ...]:
    """Its annotation, then its tags as one comma-separated list (CLDR's, then OpenMoji's, each once)."""
    tags = []
    for tag in (row['tags'] + ',' + row['openmoji_tags']).split(','):
        tag = normalise_caption(tag)
        if tag and tag not in tags:
            tags.append(tag)
    candidates = [(normalise_caption(row['annotation']), NAME_RANK)]
    if tags:
        candidates.append((', '.join(tags[:OPENMOJI_TAGS]), SHORT_NAME_RANK))
    return tuple(candidates)


def read_openmoji(package_dir: str) -> List[SourceImage]:
    """Every emoji of data/openmoji.csv without a skin tone, with its colour SVG."""
    _check_package(package_dir, 'openmoji')
    csv_path = osp.join(package_dir, 'data', 'openmoji.csv')
    if not osp.isfile(csv_path):
        raise FileNotFoundError(f'{osp.abspath(csv_path)} not found: {package_dir} is not the openmoji package')
    with open(csv_path, encoding='utf-8', newline='') as f:
        reader = csv.DictReader(f)
        missing = [column for column in OPENMOJI_COLUMNS if column not in (reader.fieldnames or ())]
        if missing:
            raise EmojiFormatError(f'{csv_path}: missing columns {missing}')
        rows = list(enumerate(reader, start=2))
    images = []
    for line, row in rows:
        if row['skintone']:
            continue
        if not row['hexcode'] or not row['annotation']:
            raise EmojiFormatError(f'{csv_path}: line {line} has no hexcode or annotation')
        images.append(SourceImage(osp.join('color', 'svg', row['hexcode'] + '.svg'), row['hexcode'] + '.png',
                                  concept_key(row['hexcode']), group_name(row['group']), openmoji_captions(row)))
    return images


READERS = dict(google=read_datasource, twitter=read_datasource, openmoji=lambda path, _: read_openmoji(path))


# ------------------------------------------------------------------ images

def load_rgb(path: str, scratch: str):
    """The image on white at SIZE px: PNGs as they are, SVGs rasterised with rsvg-convert (librsvg2-bin)."""
    if not path.endswith('.svg'):
        return composite_on_white(path)
    if not osp.isfile(path):
        raise EmojiFormatError(f'image listed in the package data is missing: {path}; reinstall the package')
    rsvg = shutil.which('rsvg-convert')
    if rsvg is None:
        raise FileNotFoundError('rasterising OpenMoji needs rsvg-convert (Debian: apt-get install librsvg2-bin)')
    png = osp.join(scratch, 'raster.png')
    done = subprocess.run([rsvg, '-w', str(SIZE), '-h', str(SIZE), '-o', png, path], capture_output=True, text=True)
    if done.returncode != 0:
        raise EmojiFormatError(f'rsvg-convert could not rasterise {path}: {done.stderr.strip()}')
    return composite_on_white(png)


# ------------------------------------------------------------------ one source

def split_by_concept(images: Sequence[SourceImage], valid_fraction: float, seed: int,
                     train_fraction: float = 1.0) -> Dict[str, List[SourceImage]]:
    """Held-out concepts by hash; ``train_fraction`` < 1 keeps a hashed share of the training concepts (a
    data-scarce copy with the same held-out set)."""
    if not 0 < valid_fraction < 1:
        raise ValueError(f'valid_fraction must be in (0, 1), got {valid_fraction}')
    splits = dict(train=[], valid=[])
    for image in images:
        if is_held_out(image.concept, valid_fraction, seed):
            splits['valid'].append(image)
        elif train_fraction >= 1 or is_held_out(image.concept, train_fraction, seed + 1):
            splits['train'].append(image)
    return splits


def convert_source(package_dir: str, source: str, dataset_dir: str, valid_fraction: float, seed: int,
                   train_fraction: float = 1.0) -> dict:
    """Write one source's CSVs, images and group lists; return its summary."""
    images = READERS[source](package_dir, source)
    captions, dropped = assign_captions(images)
    kept = sorted((image for image in images if image.image in captions), key=lambda image: image.image)
    image_ids = {image.image: index for index, image in enumerate(kept)}
    caption_ids = _caption_ids(captions, image_ids)
    summary = dict(package=package_dir, records=len(images), dropped_images=dropped, splits={})
    with tempfile.TemporaryDirectory() as scratch:
        for split, members in split_by_concept(kept, valid_fraction, seed, train_fraction).items():
            folder = osp.join(dataset_dir, split)
            os.makedirs(folder, exist_ok=True)
            for image in members:
                load_rgb(osp.join(package_dir, image.path), scratch).save(osp.join(folder, image.image), format='PNG')
            rows = [(image.image, image_ids[image.image], text, caption_ids[image.image, text])
                    for image in members for text in captions[image.image]]
            _write_csv(osp.join(dataset_dir, f'{split}_anno.csv'), rows)
            grouped = [f'{split}/{image.image} {ZERO_SHOT_GROUPS.index(image.group)}'
                       for image in members if image.group]
            with open(osp.join(dataset_dir, f'{split}_groups.txt'), 'w', encoding='utf-8') as f:
                f.write(''.join(line + '\n' for line in grouped))
            summary['splits'][split] = dict(images=len(members), captions=len(rows), grouped_images=len(grouped),
                                            concepts=sorted({image.concept for image in members}))
    return summary


# ------------------------------------------------------------------ the set

def convert_emoji_sources(packages: Dict[str, str], out_root: str, name: str = 'emoji_sources',
                          valid_fraction: float = 0.15, seed: int = 0, train_fraction: float = 1.0,
                          log: Optional[Callable[[str], None]] = None) -> dict:
    """Convert ``{source: package folder}`` into ``{out_root}/{name}/{source}/``; return the summary (also
    written to ``{out_root}/{name}/summary.json``, concept lists left out)."""
    unknown = sorted(set(packages) - set(SOURCES))
    if unknown:
        raise ValueError(f'unknown sources {unknown}; known: {sorted(SOURCES)}')
    root = osp.join(out_root, name)
    os.makedirs(root, exist_ok=True)
    with open(osp.join(root, 'groups.txt'), 'w', encoding='utf-8') as f:
        f.write(''.join(group + '\n' for group in ZERO_SHOT_GROUPS))
    summary = dict(root=osp.abspath(root), valid_fraction=valid_fraction, seed=seed, train_fraction=train_fraction,
                   sources={})
    for source, package_dir in packages.items():
        summary['sources'][source] = convert_source(package_dir, source, osp.join(root, source), valid_fraction,
                                                    seed, train_fraction)
        if log:
            counts = {split: (info['images'], info['captions'])
                      for split, info in summary['sources'][source]['splits'].items()}
            log(f'{source}: (images, captions) per split {counts}')
    _check_concept_disjoint(summary)
    with open(osp.join(root, 'summary.json'), 'w', encoding='utf-8') as f:
        json.dump(_without_concepts(summary), f, indent=2)
    return summary


def _check_concept_disjoint(summary: dict) -> None:
    """No held-out concept of any source may be trained in any source (the split's promise)."""
    splits = [info['splits'] for info in summary['sources'].values()]
    trained = set().union(*(set(s['train']['concepts']) for s in splits)) if splits else set()
    held = set().union(*(set(s['valid']['concepts']) for s in splits)) if splits else set()
    if trained & held:
        raise RuntimeError(f'concepts both trained and held out: {sorted(trained & held)[:5]}')


def _without_concepts(summary: dict) -> dict:
    copy = json.loads(json.dumps(summary))
    for info in copy['sources'].values():
        for split in info['splits'].values():
            split['concepts'] = len(split['concepts'])
    return copy
