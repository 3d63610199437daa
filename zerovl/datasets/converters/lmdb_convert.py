"""Convert a split in the original layout (CSV + image folder) into LMDB shards (verified by lmdb_verify).

Safe to rerun: a shard whose rows and options match the request is resumed (images already written
are not read again) or, when marked complete, skipped; a shard written from other rows or options is
cleared and rewritten. An interrupted run (Ctrl-C, a killed job) therefore resumes where its last
commit ended. The map size starts from the sizes of the image files and doubles whenever LMDB says
it is full, so no size has to be guessed.

Image files are read as the loader reads them (``zerovl.datasets.image_file``): regular files only, at
most ``max_bytes``, resolved inside the image folder or ``allowed_roots``; a refused file is not stored
and is listed with its reason, like a missing one. ``max_side`` shrinks an image only after its header
size passed ``max_pixels``; a larger one is stored as it is, so the dataset and ``--verify`` report it.
"""
import json
import os
import os.path as osp
import shutil
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import lmdb
from tqdm import tqdm

from ..annotation_csv import REQUIRED_COLUMNS, AnnotationRow, check_row, read_annotation_rows
from ..lmdb_backend import (FORMAT_VERSION, META_KEY, ROWS_KEY, encode_rows, forget_cached_env, image_key,
                           list_shards, shard_path)
from ..image_file import DEFAULT_MAX_BYTES, ImageFileRefused, read_image_file, resolve_roots
from ..transforms.loading import DEFAULT_MAX_PIXELS, check_header, decode_checked

REENCODE_JPEG_QUALITY = 95
# Commit after this many bytes of images: a crash loses at most this much work, and a transaction
# stays far below memory limits.
COMMIT_BYTES = 64 << 20
# Missing images listed in a shard's meta (all are counted).
MAX_LISTED_MISSING = 100


@dataclass
class ConversionSummary:
    lmdb_path: str
    shards: int = 0
    shards_skipped: int = 0  # already complete
    rows: int = 0
    images_written: int = 0
    images_present: int = 0  # found in the shard from an earlier, interrupted run
    images_resized: int = 0
    missing_images: List[str] = field(default_factory=list)  # not stored: missing or refused files
    image_problems: Dict[str, str] = field(default_factory=dict)  # why each of them was not stored


@dataclass(frozen=True)
class ReadOptions:
    """How image files are read and shrunk: the loader's checks, applied before anything is stored."""
    roots: Tuple[str, ...]  # resolved image folder and allowed roots
    max_bytes: Optional[int] = DEFAULT_MAX_BYTES
    max_side: Optional[int] = None
    max_pixels: Optional[int] = DEFAULT_MAX_PIXELS


def convert_csv_to_lmdb(ann_file: str, img_dir: str, lmdb_path: str, *,
                        max_rows_per_shard: Optional[int] = None, max_side: Optional[int] = None,
                        max_pixels: Optional[int] = DEFAULT_MAX_PIXELS,
                        max_bytes: Optional[int] = DEFAULT_MAX_BYTES, allowed_roots: Sequence[str] = (),
                        progress: bool = True) -> ConversionSummary:
    """Write ``ann_file``'s rows and the images they name under ``lmdb_path`` (see lmdb_backend).

    ``max_pixels``, ``max_bytes`` and ``allowed_roots`` mean what they mean for ``LoadImageFromFile``.
    """
    if max_rows_per_shard is not None and max_rows_per_shard < 1:
        raise ValueError(f'max_rows_per_shard must be at least 1, got {max_rows_per_shard}')
    if max_side is not None and max_side < 1:
        raise ValueError(f'max_side must be at least 1, got {max_side}')
    if not osp.isdir(img_dir):
        raise FileNotFoundError(f'image directory not found: {osp.abspath(img_dir)}')
    options = ReadOptions(resolve_roots([img_dir, *allowed_roots]), max_bytes, max_side, max_pixels)
    rows = list(read_annotation_rows(ann_file))  # a missing required column raises here, naming it
    chunks = _split(rows, max_rows_per_shard)
    os.makedirs(lmdb_path, exist_ok=True)
    _remove_stale_shards(lmdb_path, len(chunks))
    summary = ConversionSummary(lmdb_path=osp.abspath(lmdb_path), shards=len(chunks), rows=len(rows))
    first_row = 0
    for index, chunk in enumerate(chunks):
        meta = dict(format_version=FORMAT_VERSION, complete=False, shard=index, num_shards=len(chunks),
                    columns=list(REQUIRED_COLUMNS), num_rows=len(chunk), first_row=first_row,
                    source_csv=osp.abspath(ann_file), max_side=max_side)
        _convert_shard(shard_path(lmdb_path, index), chunk, meta, img_dir, options, summary, progress)
        first_row += len(chunk)
    return summary


def _split(rows: List[AnnotationRow], max_rows: Optional[int]) -> List[List[AnnotationRow]]:
    if not max_rows or len(rows) <= max_rows:
        return [rows]  # also one (empty) shard for a CSV without rows
    return [rows[start:start + max_rows] for start in range(0, len(rows), max_rows)]


def _remove_stale_shards(lmdb_path: str, count: int) -> None:
    # Shards beyond the new count come from a run with a smaller --max-rows-per-shard; left in place
    # they would be read as part of this split.
    for path in list_shards(lmdb_path)[count:]:
        shutil.rmtree(path)


def _image_names(rows: List[AnnotationRow]) -> List[str]:
    """Distinct image names of the usable rows, in first-use order (several captions share an image).

    A row the dataset will drop anyway (empty caption, mis-encoded name...) needs no image; it is
    still stored in the rows, so that the dataset reports it exactly as it would from the CSV.
    """
    names = (row.record['image'] for row in rows if check_row('', row) is None)
    return list(dict.fromkeys(names))


def _convert_shard(path: str, rows: List[AnnotationRow], meta: dict, img_dir: str, options: ReadOptions,
                   summary: ConversionSummary, progress: bool) -> None:
    names = _image_names(rows)
    rows_blob = encode_rows(rows)
    # LMDB forbids opening one environment twice in a process: drop this process's read-only handle
    # (a dataset read the shard earlier, e.g. in a test) before opening it for writing.
    forget_cached_env(path)
    env = lmdb.open(path, map_size=_initial_map_size(img_dir, names, len(rows_blob)), subdir=True,
                    readahead=False, meminit=False)
    try:
        if _resume_or_clear(env, path, rows_blob, meta):
            summary.shards_skipped += 1
            return
        _put_all(env, [(ROWS_KEY, rows_blob), (META_KEY, _json(meta))])
        missing = _write_images(env, path, names, img_dir, meta, options, summary, progress)
        listed = missing[:MAX_LISTED_MISSING]
        meta.update(complete=True, images=len(names) - len(missing), missing_images=listed,
                    num_missing_images=len(missing),
                    image_problems={name: summary.image_problems[name] for name in listed})
        # Written last: a shard is only marked complete once every image it names has been tried.
        _put_all(env, [(META_KEY, _json(meta))])
        env.sync()
    finally:
        env.close()


def _initial_map_size(img_dir: str, names: List[str], rows_bytes: int) -> int:
    total = rows_bytes
    for name in names:
        try:
            total += os.path.getsize(osp.join(img_dir, name))
        except (OSError, ValueError):
            pass  # missing: reported when the image is read
    # B-tree pages and per-key overhead; the map grows on demand anyway. Map size is virtual address
    # space, not disk: the file only grows as data is written.
    return int(total * 1.2) + (64 << 20)


def _json(value) -> bytes:
    return json.dumps(value, separators=(',', ':')).encode('utf-8')


def _resume_or_clear(env: lmdb.Environment, path: str, rows_blob: bytes, meta: dict) -> bool:
    """True when the shard is done for exactly these rows and options; clear it if it is another's."""
    with env.begin() as txn:
        old_meta, old_rows = txn.get(META_KEY), txn.get(ROWS_KEY)
    if old_meta is None:
        return False
    old = json.loads(old_meta)
    same = (old_rows == rows_blob and
            all(old.get(key) == meta[key] for key in ('format_version', 'shard', 'num_shards', 'max_side')))
    if same:
        # A complete shard that lacked some image files is resumed, not skipped: the files may have
        # been restored since, and only those are tried again (present keys are never re-read).
        return bool(old.get('complete')) and not old.get('num_missing_images')
    # Written from other rows or options: its images may be resized differently or belong to
    # another CSV, so nothing in it can be trusted.
    print(f'{path}: written from other rows or options, rewriting it')
    with env.begin(write=True) as txn:
        txn.drop(env.open_db(txn=txn), delete=False)
    return False


def _write_images(env: lmdb.Environment, path: str, names: List[str], img_dir: str, meta: dict,
                  options: ReadOptions, summary: ConversionSummary, progress: bool) -> List[str]:
    """Write every image not yet in the shard, committing in batches; returns the missing names."""
    missing, batch, batch_bytes = [], [], 0
    bar = tqdm(names, desc=f'{osp.basename(path)} ({meta["shard"] + 1}/{meta["num_shards"]})',
               unit='img', disable=not progress, dynamic_ncols=True)
    for name in bar:
        key = image_key(name)
        if _has_key(env, key):
            summary.images_present += 1
            continue
        try:
            value = _read_image(osp.join(img_dir, name), options, summary)
        except ImageFileRefused as error:
            missing.append(name)
            summary.image_problems[name] = str(error)
            continue
        batch.append((key, value))
        batch_bytes += len(value)
        if batch_bytes >= COMMIT_BYTES:
            _put_all(env, batch)
            summary.images_written += len(batch)
            batch, batch_bytes = [], 0
    _put_all(env, batch)
    summary.images_written += len(batch)
    summary.missing_images.extend(missing)
    return missing


def _has_key(env: lmdb.Environment, key: bytes) -> bool:
    with env.begin() as txn:
        return txn.get(key) is not None


def _read_image(path: str, options: ReadOptions, summary: ConversionSummary) -> bytes:
    """The bytes to store for an image file: as is, or shrunk to ``max_side``.

    Raises ``ImageFileRefused`` for a file the loader would refuse to read (missing, outside the
    image folder, not a regular file, over ``max_bytes``).
    """
    data = read_image_file(path, options.roots, options.max_bytes)
    if options.max_side is not None:
        shrunk = shrink_to_max_side(data, options.max_side, options.max_pixels)
        if shrunk is not None:
            summary.images_resized += 1
            return shrunk
    # Undecodable or oversized bytes are stored as they are: the dataset reports them with their row,
    # exactly as it would for the file, and --verify lists them.
    return data


def shrink_to_max_side(data: bytes, max_side: int,
                       max_pixels: Optional[int] = DEFAULT_MAX_PIXELS) -> Optional[bytes]:
    """JPEG (quality 95) of the image with its longer side at ``max_side``, aspect ratio kept; None
    when the image is already small enough or is a bad sample (undecodable, over ``max_pixels``:
    the header is checked first, so such an image is never decoded here)."""
    size, problem = check_header(data, max_pixels, max_aspect_ratio=None)
    if problem or max(size) <= max_side:
        return None  # small images are not even decoded
    img, problem = decode_checked(data, max_pixels, max_aspect_ratio=None)
    if problem or max(img.shape[:2]) <= max_side:
        return None
    height, width = img.shape[:2]
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # INTER_AREA: the antialiased choice for shrinking.
    small = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode('.jpg', cv2.cvtColor(small, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, REENCODE_JPEG_QUALITY])
    return encoded.tobytes() if ok else None


def _put_all(env: lmdb.Environment, items: List[Tuple[bytes, bytes]]) -> None:
    """Write ``items`` in one transaction, doubling the map size whenever LMDB runs out of it."""
    if not items:
        return
    while True:
        try:
            with env.begin(write=True) as txn:
                for key, value in items:
                    txn.put(key, value)
            return
        except lmdb.MapFullError:
            # The transaction was aborted as a whole, so retrying it after growing writes nothing twice.
            env.set_mapsize(env.info()['map_size'] * 2)
