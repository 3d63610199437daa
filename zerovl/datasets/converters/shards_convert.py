"""Sources of shards: a synthetic set, a ZeroVL CSV + image folder, an LMDB copy; verification; and
shards back to a CSV + image folder (for the retrieval evaluation, which reads that layout).

Each builds a ``read_inputs(start, stop)`` for ``write_shards`` (resumable, see shard_writer.py). Rows
of the CSV or LMDB become samples in row order; a row that the dataset would drop (empty caption,
unparsable record) or whose image cannot be read is counted as a failed input in the shard's stats,
as img2dataset counts a failed download, and listed.
"""
import csv
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..annotation_csv import REQUIRED_COLUMNS, AnnotationRow, check_row, read_annotation_rows
from ..image_file import DEFAULT_MAX_BYTES, ImageFileRefused, read_image_file, resolve_roots
from ..lmdb_backend import image_key, load_shards, read_value
from ..shards.layout import list_shards
from ..shards.tar_reader import TarShard
from .shard_writer import DEFAULT_SAMPLES_PER_SHARD, ShardSample, ShardWriteSummary, write_shards

# Distinct tiny images the synthetic set cycles through: encoding one JPEG per sample would dominate
# the time of writing a million samples, and the benchmark measures reading, not image variety.
SYNTHETIC_IMAGES = 64


def write_synthetic_shards(folder: str, num_samples: int, samples_per_shard: int = DEFAULT_SAMPLES_PER_SHARD,
                           image_size: int = 8, seed: int = 0) -> ShardWriteSummary:
    """``num_samples`` JPEGs (64 distinct ones, cycled) with distinct captions, in img2dataset's layout."""
    rng = np.random.default_rng(seed)
    images = [cv2.imencode('.jpg', _synthetic_image(rng, image_size))[1].tobytes() for _ in range(SYNTHETIC_IMAGES)]

    def read_inputs(start: int, stop: int) -> Iterator[ShardSample]:
        for index in range(start, stop):
            yield ShardSample(images[index % SYNTHETIC_IMAGES], f'synthetic sample {index}',
                              dict(url=f'synthetic://{index}', width=image_size, height=image_size))

    return write_shards(folder, num_samples, samples_per_shard, read_inputs,
                        source=f'synthetic(seed={seed}, image_size={image_size})')


def _synthetic_image(rng: np.random.Generator, size: int) -> np.ndarray:
    """Pixel noise for tiny sides; from 64 px, smooth colour fields (noise of 1/16 the side, upscaled),
    which compress like photos (pixel noise at 256 px would make 100+ KB JPEGs that decode slowly)."""
    if size < 64:
        return rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    small = rng.integers(0, 256, (size // 16, size // 16, 3), dtype=np.uint8)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)


def _row_sample(row: AnnotationRow, source_csv: str, image: Optional[bytes], failure: str) -> ShardSample:
    error = check_row(source_csv, row)
    if error is not None:
        return ShardSample(None, '', dict(row=row.line), failure=f'row {row.line}: {error}')
    record = row.record
    meta = dict(row=row.line, image=record['image'], image_id=record['image_id'], caption_id=record['caption_id'])
    return ShardSample(image, record['caption'], meta, failure=f'row {row.line}: {failure}' if failure else '')


def convert_csv_to_shards(ann_file: str, img_dir: str, folder: str,
                          samples_per_shard: int = DEFAULT_SAMPLES_PER_SHARD,
                          max_bytes: Optional[int] = DEFAULT_MAX_BYTES,
                          allowed_roots: Sequence[str] = ()) -> ShardWriteSummary:
    """A ZeroVL CSV (one caption per row) and its image folder as shards; images read as the loader
    reads them (``read_image_file``: inside the image folder, regular files, at most ``max_bytes``)."""
    if not osp.isdir(img_dir):
        raise FileNotFoundError(f'image directory not found: {osp.abspath(img_dir)}')
    rows = list(read_annotation_rows(ann_file))
    roots = resolve_roots([img_dir, *allowed_roots])
    source_csv = osp.abspath(ann_file)

    def read_inputs(start: int, stop: int) -> Iterator[ShardSample]:
        for row in rows[start:stop]:
            image, failure = None, ''
            if check_row(source_csv, row) is None:
                try:
                    image = read_image_file(osp.join(img_dir, row.record['image']), roots, max_bytes)
                except ImageFileRefused as error:
                    failure = str(error)
            yield _row_sample(row, source_csv, image, failure)

    return write_shards(folder, len(rows), samples_per_shard, read_inputs, source=f'csv:{source_csv}')


def convert_lmdb_to_shards(lmdb_path: str, folder: str,
                           samples_per_shard: int = DEFAULT_SAMPLES_PER_SHARD) -> ShardWriteSummary:
    """An LMDB copy (tools/dataset_converters/csv_to_lmdb.py) as shards, rows in CSV order."""
    shards = load_shards(lmdb_path)
    rows: List[Tuple[str, AnnotationRow]] = [(path, row) for path, _, shard_rows in shards for row in shard_rows]
    source_csv = shards[0][1]['source_csv']

    def read_inputs(start: int, stop: int) -> Iterator[ShardSample]:
        for path, row in rows[start:stop]:
            image, failure = None, ''
            if check_row(source_csv, row) is None:
                image = read_value(path, image_key(row.record['image']))
                failure = '' if image is not None else f'key {row.record["image"]!r} not in {path}'
            yield _row_sample(row, source_csv, image, failure)

    return write_shards(folder, len(rows), samples_per_shard, read_inputs,
                        source=f'lmdb:{osp.abspath(lmdb_path)}')


@dataclass
class ShardVerifyReport:
    folder: str
    shards: int = 0
    samples: int = 0  # found in the tars
    declared: int = 0  # by the stats files
    problems: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.samples > 0


def verify_shards(folder: str) -> ShardVerifyReport:
    """Count every tar's samples against its ``_stats.json``; list missing, truncated and
    mis-counted shards (headers are read, images are not decoded)."""
    report = ShardVerifyReport(folder=osp.abspath(folder))
    for info in list_shards(folder):
        report.shards += 1
        report.declared += info.count
        try:
            shard = TarShard(info.path)
        except OSError as error:
            report.problems.append(f'{info.path}: cannot be opened ({error.strerror or error})')
            continue
        found = len(shard.listing.samples)
        shard.close()
        report.samples += found
        if shard.listing.truncated:
            report.problems.append(f'{info.path}: {shard.listing.truncated}')
        if found != info.count:
            report.problems.append(f'{info.path}: {found} samples in the tar, its stats declare {info.count}')
    return report


def describe(summary: ShardWriteSummary, report: Optional[ShardVerifyReport] = None) -> List[str]:
    """Lines a converter prints: what was written, what failed, and the verification."""
    lines = [f'{summary.folder}: {summary.shards} shard(s), {summary.shards_skipped} already finished; '
             f'{summary.samples} samples written, {summary.failed} inputs failed'
             f'{"" if summary.parquet else " (no .parquet: install pyarrow to write them)"}']
    lines += [f'  failed: {failure}' for failure in summary.failures[:20]]
    if report is not None:
        lines.append(f'verify: {report.samples} samples in {report.shards} shard(s), stats declare '
                     f'{report.declared}; {len(report.problems)} problem(s)')
        lines += [f'  {problem}' for problem in report.problems]
    return lines


def convert_shards_to_csv(folder: str, data_root: str, name: str, split: str = 'valid',
                          caption_key: Optional[str] = None) -> Tuple[int, List[str]]:
    """Shards back to ZeroVL's layout, ``{data_root}/{name}/{split}_anno.csv`` + ``{split}/{key}.{ext}``, as
    the retrieval evaluation reads it: one row per sample, ``image_id`` and ``caption_id`` its key.
    Returns the rows written and the samples left out, with why."""
    from ..errors import ShardSampleError
    from ..shards.tar_reader import image_member, read_caption
    img_dir = osp.join(data_root, name, split)
    os.makedirs(img_dir, exist_ok=True)
    rows, skipped = [], []
    for info in list_shards(folder):
        try:
            shard = TarShard(info.path)
        except OSError as error:
            skipped.append(f'{info.path}: cannot be opened ({error.strerror or error})')
            continue
        try:
            if shard.listing.truncated:
                skipped.append(f'{info.path}: {shard.listing.truncated}')
            for sample in shard.listing.samples:
                try:
                    member, caption = image_member(sample, info.path), read_caption(shard, sample, caption_key)
                except ShardSampleError as error:
                    skipped.append(str(error))
                    continue
                image = f'{osp.basename(sample.key)}.{member.name.rsplit(".", 1)[-1]}'
                with open(osp.join(img_dir, image), 'wb') as f:
                    f.write(shard.read(member))
                rows.append([image, sample.key, caption, sample.key])
        finally:
            shard.close()
    with open(osp.join(data_root, name, f'{split}_anno.csv'), 'w', newline='', encoding='utf-8') as f:
        csv.writer(f).writerows([list(REQUIRED_COLUMNS), *rows])
    return len(rows), skipped
