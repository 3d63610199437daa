"""img2dataset's output layout, as zerovl reads and writes it.

One folder per source, as ``img2dataset --output_format webdataset`` writes it::

    {folder}/00000.tar            samples, each as members {key}.jpg, {key}.txt, {key}.json
    {folder}/00000.parquet        one row per URL of the shard (img2dataset's metadata; not read here)
    {folder}/00000_stats.json     counts of the shard: 'successes' is the number of samples in the tar
    {folder}/00001.tar ...

Only the ``_stats.json`` files are read at start-up: their ``successes`` give every shard's sample
count, so a dataset knows its size, and can plan an epoch, from O(shards) small files without opening
a single tar. A tar without its stats file is a shard img2dataset did not finish (it writes the stats
last) and is left out; a stats file without its tar is a missing shard (see ShardImageTextDataset).
"""
import json
import os
import os.path as osp
from typing import List, NamedTuple

STATS_SUFFIX = '_stats.json'
IMAGE_EXTENSIONS = ('jpg', 'jpeg', 'png', 'webp')


class ShardInfo(NamedTuple):
    """One shard of a source: its tar path and the number of samples its stats file declares."""
    path: str
    count: int


def shard_stem(index: int) -> str:
    """img2dataset's shard names: the shard number with 5 digits (more when there are more shards)."""
    return f'{index:05d}'


def sample_key(shard_index: int, sample_index: int, digits: int = 4) -> str:
    """img2dataset's sample keys: the shard number followed by the sample's number in the shard."""
    return f'{shard_stem(shard_index)}{sample_index:0{digits}d}'


def stats_path(tar_path: str) -> str:
    return tar_path[:-len('.tar')] + STATS_SUFFIX


def read_stats(path: str) -> dict:
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def list_shards(folder: str) -> List[ShardInfo]:
    """Every finished shard of a source folder, in name order, with its sample count.

    Raises ``FileNotFoundError`` naming the folder when it has no stats file at all, and ``ValueError``
    naming the file when a stats file is unreadable or has no integer ``successes``.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f'shard folder not found: {osp.abspath(folder)}')
    shards = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(STATS_SUFFIX):
            continue
        path = osp.join(folder, name)
        try:
            count = read_stats(path).get('successes')
        except (OSError, ValueError) as error:
            raise ValueError(f'{osp.abspath(path)}: unreadable shard stats ({error})') from None
        if not isinstance(count, int) or count < 0:
            raise ValueError(f'{osp.abspath(path)}: "successes" must be a non-negative integer, got {count!r}')
        shards.append(ShardInfo(osp.abspath(path[:-len(STATS_SUFFIX)] + '.tar'), count))
    if not shards:
        raise FileNotFoundError(f'no shard stats (*{STATS_SUFFIX}) in {osp.abspath(folder)}: not an '
                                f'img2dataset webdataset output folder, or no shard has finished')
    return shards


def unfinished_tars(folder: str) -> List[str]:
    """Tars without a stats file: shards whose writing was interrupted."""
    return sorted(osp.join(folder, name) for name in os.listdir(folder)
                  if name.endswith('.tar') and not osp.exists(osp.join(folder, name[:-4] + STATS_SUFFIX)))
