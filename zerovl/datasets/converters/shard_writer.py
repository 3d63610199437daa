"""Write samples as img2dataset writes them: tar shards of {key}.jpg/.txt/.json, a parquet and a
``_stats.json`` per shard (layout in zerovl/datasets/shards/layout.py).

Every writer of shards (the synthetic generator, CSV -> shards, LMDB -> shards) goes through
``write_shards``, which makes them all resumable the same way: a shard is finished once its stats file
exists, because the stats file is written last, after the tar has been renamed into place; a rerun
skips finished shards whose stats match the request and rewrites the others, so a killed conversion
loses at most the shard it was writing and reads no input twice for the finished ones.
"""
import json
import os
import os.path as osp
import tarfile
import time
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterable, List, NamedTuple, Optional

from zerovl.utils.atomic_file import partial_path, publish, write_text_atomically
from ..shards.layout import STATS_SUFFIX, read_stats, sample_key, shard_stem

# One shard per this many samples by default: img2dataset's own default.
DEFAULT_SAMPLES_PER_SHARD = 10000


class ShardSample(NamedTuple):
    """One sample to write: image bytes (None when the image could not be had), caption, metadata."""
    image: Optional[bytes]
    caption: str
    meta: dict
    image_ext: str = 'jpg'
    failure: str = ''  # why ``image`` is None: counted in the stats as img2dataset counts failed downloads


@dataclass
class ShardWriteSummary:
    folder: str
    shards: int = 0
    shards_skipped: int = 0  # finished by an earlier run
    samples: int = 0  # written by this run
    failed: int = 0  # inputs without an image, in the shards written by this run
    parquet: bool = False
    failures: List[str] = field(default_factory=list)  # the first failures, with their reasons


def parquet_writer_available() -> bool:
    """img2dataset's per-shard .parquet needs pandas with a parquet engine (pyarrow or fastparquet)."""
    for module in ('pyarrow', 'fastparquet'):
        try:
            __import__(module)
            return True
        except ImportError:
            continue
    return False


def write_shards(folder: str, num_inputs: int, samples_per_shard: int,
                 read_inputs: Callable[[int, int], Iterable[ShardSample]], *, source: str,
                 write_parquet: Optional[bool] = None) -> ShardWriteSummary:
    """Write inputs ``[0, num_inputs)`` as shards of ``samples_per_shard`` inputs each.

    ``read_inputs(start, stop)`` yields the samples of that input range; it is only called for shards
    that are not finished yet. ``source`` is recorded in every stats file, so that a shard written from
    another source (or with another shard size) is rewritten rather than kept.
    """
    if samples_per_shard < 1:
        raise ValueError(f'samples_per_shard must be at least 1, got {samples_per_shard}')
    os.makedirs(folder, exist_ok=True)
    parquet = parquet_writer_available() if write_parquet is None else write_parquet
    summary = ShardWriteSummary(folder=osp.abspath(folder), parquet=parquet)
    num_shards = max(1, -(-num_inputs // samples_per_shard))
    for index in range(num_shards):
        start, stop = index * samples_per_shard, min(num_inputs, (index + 1) * samples_per_shard)
        request = dict(source=source, first_input=start, count=stop - start, num_shards=num_shards)
        base = osp.join(folder, shard_stem(index))
        summary.shards += 1
        if _is_finished(base, request):
            summary.shards_skipped += 1
            continue
        _write_one(base, index, read_inputs(start, stop), request, parquet, summary)
    return summary


def _is_finished(base: str, request: dict) -> bool:
    try:
        stats = read_stats(base + STATS_SUFFIX)
    except (OSError, ValueError):
        return False
    written = stats.get('zerovl_request') == request and osp.isfile(base + '.tar')
    if not written and osp.exists(base + STATS_SUFFIX):
        os.remove(base + STATS_SUFFIX)  # another request's shard: unfinished until rewritten
    return written


def _write_one(base: str, shard_index: int, samples: Iterable[ShardSample], request: dict, parquet: bool,
               summary: ShardWriteSummary) -> None:
    started = time.time()
    rows, successes, failures = [], 0, 0
    partial = partial_path(base + '.tar')
    with open(partial, 'wb') as tar:
        for number, sample in enumerate(samples):
            key = sample_key(shard_index, number)
            meta = dict(sample.meta, key=key, caption=sample.caption,
                        status='success' if sample.image is not None else 'failed_to_download',
                        error_message=sample.failure or None)
            rows.append(meta)
            if sample.image is None:
                failures += 1
                if len(summary.failures) < 100:
                    summary.failures.append(f'{key}: {sample.failure}')
                continue
            _add(tar, f'{key}.{sample.image_ext}', sample.image)
            _add(tar, f'{key}.txt', sample.caption.encode('utf-8'))
            _add(tar, f'{key}.json', json.dumps(meta, ensure_ascii=False).encode('utf-8'))
            successes += 1
        tar.write(bytes(2 * tarfile.BLOCKSIZE))  # end of archive
    publish(partial, base + '.tar')
    if parquet:
        _write_parquet(base + '.parquet', rows)
    stats = dict(count=len(rows), successes=successes, failed_to_download=failures, failed_to_resize=0,
                 start_time=started, end_time=time.time(), duration=time.time() - started,
                 status_dict=dict(success=successes, failed_to_download=failures), zerovl_request=request)
    write_text_atomically(base + STATS_SUFFIX, json.dumps(stats))  # last: marks the shard finished
    summary.samples += successes
    summary.failed += failures


def _add(tar: BinaryIO, name: str, data: bytes) -> None:
    """Append one member: a ustar header, the data, zero padding to the block size.

    Written by hand rather than with ``tarfile.addfile``, whose general header code costs ~0.3 ms a
    member: a million samples are three million members. Fixed owner, mode and time: the same inputs
    give byte-identical shards. ``tarfile`` (and GNU tar) read the result, as the tests check.
    """
    encoded = name.encode('utf-8')
    if len(encoded) > 100:
        raise ValueError(f'member name longer than 100 bytes: {name!r}')
    header = bytearray(tarfile.BLOCKSIZE)
    header[0:len(encoded)] = encoded
    header[100:108] = b'0000444\0'  # mode
    header[108:116] = header[116:124] = b'0000000\0'  # uid, gid
    header[124:136] = b'%011o\0' % len(data)
    header[136:148] = b'00000000000\0'  # mtime
    header[148:156] = b' ' * 8  # the checksum counts its own field as spaces
    header[156:157] = tarfile.REGTYPE
    header[257:265] = tarfile.POSIX_MAGIC
    header[148:156] = b'%06o\0 ' % sum(header)
    tar.write(header)
    tar.write(data)
    tar.write(bytes(-len(data) % tarfile.BLOCKSIZE))


def _write_parquet(path: str, rows: List[dict]) -> None:
    import pandas as pd  # only converters write parquet
    partial = partial_path(path)
    pd.DataFrame(rows).to_parquet(partial, index=False)
    publish(partial, path)
