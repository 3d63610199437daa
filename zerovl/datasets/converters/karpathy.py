"""Convert a Karpathy split JSON (dataset_coco.json, dataset_flickr30k.json) into ZeroVL's layout.

    {out_root}/{name}/train_anno.csv   Karpathy train + restval (restval is training data in the split)
    {out_root}/{name}/val_anno.csv     Karpathy val
    {out_root}/{name}/test_anno.csv    Karpathy test
    {out_root}/{name}/valid_anno.csv   Karpathy test again: ImageTextDataset(split='valid') is what
                                       evaluation reads, and retrieval results are reported on test
    {out_root}/{name}/{split}/         the image folder of each CSV

Every CSV's ``image`` column is ``filepath/filename`` (just ``filename`` when the JSON has no
filepath, as in Flickr30k), relative to the original image root. So the four image folders are all
that same root: with ``link_images=True`` they are created as symlinks to it, otherwise the caller
must provide them.
"""
import csv
import json
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

__all__ = ['KarpathyFormatError', 'SPLIT_SOURCES', 'CSV_HEADER', 'convert_karpathy']

CSV_HEADER = ('image', 'image_id', 'caption', 'caption_id')

# Output split -> the Karpathy splits it is made of.
SPLIT_SOURCES: Dict[str, Tuple[str, ...]] = {
    'train': ('train', 'restval'),
    'val': ('val',),
    'test': ('test',),
    'valid': ('test',),
}
KARPATHY_SPLITS = frozenset(s for sources in SPLIT_SOURCES.values() for s in sources)

Row = Tuple[str, int, str, int]


class KarpathyFormatError(ValueError):
    """The JSON does not have the Karpathy structure; the message names the file and the image."""


def convert_karpathy(json_path: str, image_root: str, out_root: str, name: str,
                     link_images: bool = False) -> Dict[str, Tuple[int, int]]:
    """Write the four annotation CSVs (and optionally the image-folder symlinks) for one source.

    Returns ``{split: (number of images, number of captions)}`` for every written CSV.
    """
    rows_by_karpathy_split = read_karpathy_rows(json_path)
    dataset_dir = osp.join(out_root, name)
    os.makedirs(dataset_dir, exist_ok=True)
    counts = {}
    for split, sources in SPLIT_SOURCES.items():
        # By image, then sentence id: a stable order whatever the JSON's, with an image's captions together.
        rows = sorted((row for source in sources for row in rows_by_karpathy_split[source]),
                      key=lambda row: (row[0], row[3]))
        write_annotation_csv(osp.join(dataset_dir, f'{split}_anno.csv'), rows)
        counts[split] = (len({row[1] for row in rows}), len(rows))
        if link_images:
            link_image_folder(image_root, osp.join(dataset_dir, split))
    return counts


def read_karpathy_rows(json_path: str) -> Dict[str, List[Row]]:
    """One ``(image, image_id, caption, caption_id)`` row per sentence, grouped by Karpathy split."""
    with open(json_path, encoding='utf-8') as f:
        data = json.load(f)
    images = data.get('images') if isinstance(data, dict) else None
    if not isinstance(images, list):
        raise KarpathyFormatError(f"{json_path}: expected a top-level object with an 'images' list")
    rows: Dict[str, List[Row]] = {split: [] for split in KARPATHY_SPLITS}
    for index, entry in enumerate(images):
        split, entry_rows = image_rows(json_path, index, entry)
        rows[split].extend(entry_rows)
    return rows


def image_rows(json_path: str, index: int, entry: dict) -> Tuple[str, List[Row]]:
    """The Karpathy split of one image entry and its rows; a missing key names the entry."""
    where = f'{json_path}: images[{index}]'
    if not isinstance(entry, dict):
        raise KarpathyFormatError(f'{where} is not an object')
    filename, imgid, split, sentences = (_require(entry, key, where)
                                         for key in ('filename', 'imgid', 'split', 'sentences'))
    if split not in KARPATHY_SPLITS:
        raise KarpathyFormatError(f'{where} has unknown split {split!r} (expected one of {sorted(KARPATHY_SPLITS)})')
    # COCO keeps train2014/val2014 images in different folders; Flickr30k has no filepath at all.
    image = f"{entry['filepath']}/{filename}" if entry.get('filepath') else filename
    rows = []
    for s, sentence in enumerate(sentences):
        sentence_where = f'{where}.sentences[{s}]'
        if not isinstance(sentence, dict):
            raise KarpathyFormatError(f'{sentence_where} is not an object')
        raw, sentid = (_require(sentence, key, sentence_where) for key in ('raw', 'sentid'))
        rows.append((image, int(imgid), str(raw).strip(), int(sentid)))
    return split, rows


def _require(mapping: dict, key: str, where: str):
    if key not in mapping:
        raise KarpathyFormatError(f'{where} has no {key!r} key')
    return mapping[key]


def write_annotation_csv(path: str, rows: Sequence[Row]) -> None:
    # The csv module quotes captions with commas, quotes or newlines, which the reader undoes.
    with open(path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.writer(f)
        writer.writerow(CSV_HEADER)
        writer.writerows(rows)


def link_image_folder(image_root: str, link_path: str) -> None:
    """Make ``link_path`` a symlink to ``image_root``; an existing link to the same place is kept."""
    target = osp.abspath(image_root)
    if osp.islink(link_path) or osp.exists(link_path):
        if osp.realpath(link_path) == osp.realpath(target):
            return
        raise FileExistsError(f'{link_path} exists and is not a link to {target}; remove it or drop --link-images')
    os.symlink(target, link_path, target_is_directory=True)
