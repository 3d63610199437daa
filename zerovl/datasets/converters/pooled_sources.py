"""The look-alike control of a multi-source set: the same pairs dealt into pseudo-sources with no style of their own.

Debiased sampling draws each batch from one source. Its claimed benefit is that a batch offers no domain
shortcut (every negative is in the positive's style); the control removes exactly that and keeps everything
else: the images of all sources are pooled, shuffled (seeded) and dealt back into as many pseudo-sources as
there were sources, each with its source's number of images. Every pseudo-source then holds the same mix of
styles, so a debiased batch is as mixed as a shuffled one, and the two samplers should train alike.

An image moves with all its caption rows. Input and output are ZeroVL's layout (docs/data_preparation.md)::

    {root}/{source}/{split}_anno.csv + {root}/{source}/{split}/       the sources
    {out}/pool_{k}/{split}_anno.csv + {out}/pool_{k}/{split}/         the pseudo-sources, k = 0, 1, ...

File names and image ids get their source as prefix ('google__1f600.png', 'google:1076'), so they stay
unique in a pool; images are hard-linked where the file system allows it, else copied.
"""
import csv
import os
import os.path as osp
import random
import shutil
from collections import defaultdict
from typing import Dict, List, Sequence, Tuple

from .emoji import CSV_HEADER, _write_csv

__all__ = ['pool_sources']


def read_rows(anno: str) -> Dict[str, List[Tuple[str, str, str, str]]]:
    """``{image: its rows}`` of an annotation CSV, in file order."""
    with open(anno, newline='', encoding='utf-8') as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(header[:4]) != CSV_HEADER:
            raise ValueError(f'{anno}: expected the header {",".join(CSV_HEADER)}, got {header}')
        rows = defaultdict(list)
        for line, row in enumerate(reader, start=2):
            if len(row) < 4:
                raise ValueError(f'{anno}: line {line} has {len(row)} columns, expected 4')
            rows[row[0]].append(tuple(row[:4]))
    return rows


def link_or_copy(source: str, target: str) -> None:
    if osp.exists(target):
        os.remove(target)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def pool_sources(root: str, sources: Sequence[str], out: str, split: str = 'train', seed: int = 0) -> Dict[str, int]:
    """Write the pseudo-sources ``pool_0 ... pool_{n-1}`` of ``split``; return ``{pseudo-source: images}``."""
    per_source = {source: read_rows(osp.join(root, source, f'{split}_anno.csv')) for source in sources}
    pooled = [(source, image) for source in sources for image in sorted(per_source[source])]
    random.Random(seed).shuffle(pooled)
    sizes, start = {}, 0
    for index, source in enumerate(sources):
        name = f'pool_{index}'
        members = pooled[start:start + len(per_source[source])]
        start += len(members)
        folder = osp.join(out, name, split)
        os.makedirs(folder, exist_ok=True)
        rows = []
        for member_source, image in members:
            renamed = f'{member_source}__{image}'
            link_or_copy(osp.join(root, member_source, split, image), osp.join(folder, renamed))
            rows += [(renamed, f'{member_source}:{image_id}', caption, f'{member_source}:{caption_id}')
                     for _, image_id, caption, caption_id in per_source[member_source][image]]
        _write_csv(osp.join(out, name, f'{split}_anno.csv'), rows)
        sizes[name] = len(members)
    return sizes
