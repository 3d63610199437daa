"""The LMDB copy of one split of one source: layout, keys, and read-only access per process.

Layout (written by ``tools/dataset_converters/csv_to_lmdb.py``, default ``{data_root}/{name}/{split}.lmdb``)::

    {split}.lmdb/shard-00000/   one LMDB environment per shard (data.mdb, lock.mdb)
    {split}.lmdb/shard-00001/   ...

Each shard holds a contiguous range of the CSV's rows and the encoded image bytes those rows name:

    b'__meta__'   JSON: format_version, complete, shard, num_shards, columns, num_rows, first_row,
                  source_csv, max_side, images, missing_images (not stored: missing or refused files,
                  the first 100), num_missing_images, image_problems (why each listed one was not stored)
    b'__rows__'   JSON list, one entry per CSV record: [line, image, image_id, caption, caption_id],
                  or [line, None, parse error] for a record the csv module could not read
    <image>       the bytes of the image file named by the CSV's 'image' column (see ``image_key``)

Rows are stored as read, bad ones included, so the dataset applies the same bad-input policy to an
LMDB as to the CSV it came from, with the CSV's own line numbers in every message. Thousands of small
image files become a few large ones: one open and no directory lookup per sample, and sequential
storage that network file systems serve far better.
"""
import hashlib
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import lmdb

from .annotation_csv import REQUIRED_COLUMNS, AnnotationRow

FORMAT_VERSION = 1
META_KEY = b'__meta__'
ROWS_KEY = b'__rows__'
SHARD_PREFIX = 'shard-'
# LMDB's compile-time key limit; longer file names are stored under a hash of the name.
MAX_KEY_BYTES = 511
_HASHED_PREFIX = b'__sha1__:'


def shard_path(lmdb_path: str, index: int) -> str:
    return osp.join(lmdb_path, f'{SHARD_PREFIX}{index:05d}')


def list_shards(lmdb_path: str) -> List[str]:
    """The shard folders under ``lmdb_path``, in shard order."""
    if not osp.isdir(lmdb_path):
        return []
    names = sorted(name for name in os.listdir(lmdb_path) if name.startswith(SHARD_PREFIX))
    return [osp.join(lmdb_path, name) for name in names]


def image_key(name: str) -> bytes:
    """The LMDB key of an image: its file name as in the CSV, UTF-8.

    A name longer than LMDB allows, or equal to a reserved key, is stored under a hash of itself;
    surrogateescape keeps a mis-encoded name's original bytes (such rows are dropped by the policy
    anyway, but the converter must not crash on them).
    """
    key = name.encode('utf-8', 'surrogateescape')
    if len(key) > MAX_KEY_BYTES or key in (META_KEY, ROWS_KEY) or key.startswith(_HASHED_PREFIX):
        return _HASHED_PREFIX + hashlib.sha1(key).hexdigest().encode('ascii')
    return key


def encode_rows(rows: List[AnnotationRow]) -> bytes:
    """Rows as compact JSON; ensure_ascii keeps the markers of undecodable bytes (lone surrogates)."""
    entries = []
    for row in rows:
        if row.record is None:
            entries.append([row.line, None, row.error])
        else:
            entries.append([row.line, *(row.record[column] for column in REQUIRED_COLUMNS)])
    return json.dumps(entries, ensure_ascii=True, separators=(',', ':')).encode('ascii')


def decode_rows(blob: bytes) -> List[AnnotationRow]:
    rows = []
    for entry in json.loads(blob):
        if entry[1] is None:
            rows.append(AnnotationRow(entry[0], None, entry[2]))
        else:
            rows.append(AnnotationRow(entry[0], dict(zip(REQUIRED_COLUMNS, entry[1:]))))
    return rows


def open_readonly(path: str) -> lmdb.Environment:
    """Open a shard for reading by many processes at once.

    lock=False: readers never write, so the lock file (and the reader table that a crashed worker
    would leave stale) is not needed, and the shard may live on read-only storage. readahead=False:
    samples are read in random order; the OS's read-ahead would fill the page cache with neighbours
    that are not needed next.
    """
    return lmdb.open(path, readonly=True, lock=False, readahead=False, meminit=False, subdir=True,
                     max_readers=2048)


# Environments opened for image reads, keyed by shard path, valid in the process that opened them.
# LMDB forbids using an environment across fork(); a DataLoader worker inherits this dict from its
# parent, sees a different pid, closes the inherited copies unused and opens its own. Nothing here is
# pickled with a dataset.
_ENVS: Dict[str, lmdb.Environment] = {}
_ENVS_PID: Optional[int] = None


def _env_of_this_process(path: str) -> lmdb.Environment:
    global _ENVS_PID
    if _ENVS_PID != os.getpid():
        # Close the parent's handles (this only unmaps the child's copy; with lock=False there is no
        # shared lock state): py-lmdb refuses to open a path that is still open in the process.
        for inherited in _ENVS.values():
            inherited.close()
        _ENVS.clear()
        _ENVS_PID = os.getpid()
    env = _ENVS.get(path)
    if env is None:
        env = _ENVS[path] = open_readonly(path)
    return env


def forget_cached_env(path: str) -> None:
    """Close this process's read-only handle on ``path``, if any (before the shard is rewritten)."""
    env = _ENVS.pop(path, None) if _ENVS_PID == os.getpid() else None
    if env is not None:
        env.close()


def read_value(path: str, key: bytes) -> Optional[bytes]:
    """The value under ``key`` in the shard at ``path``, or None when the key is absent."""
    with _env_of_this_process(path).begin(buffers=False) as txn:
        return txn.get(key)


def read_meta(env: lmdb.Environment, path: str) -> dict:
    with env.begin() as txn:
        raw = txn.get(META_KEY)
    if raw is None:
        raise RuntimeError(f'{path}: not an LMDB shard written by csv_to_lmdb.py (no {META_KEY.decode()} key)')
    return json.loads(raw)


def load_shards(lmdb_path: str) -> List[Tuple[str, dict, List[AnnotationRow]]]:
    """(shard path, meta, rows) of every shard, checked to be complete and to form one whole.

    Each shard is opened only for this and closed again, so the dataset that calls this in the main
    process leaves no environment behind for DataLoader workers to inherit.
    """
    paths = list_shards(lmdb_path)
    if not paths:
        raise FileNotFoundError(f'no LMDB shards ({SHARD_PREFIX}*) under {osp.abspath(lmdb_path)}; '
                                f'convert the CSV with tools/dataset_converters/csv_to_lmdb.py')
    shards = []
    for index, path in enumerate(paths):
        env = open_readonly(path)
        try:
            meta = read_meta(env, path)
            _check_meta(path, meta, index, len(paths))
            with env.begin() as txn:
                rows = decode_rows(txn.get(ROWS_KEY))
        finally:
            env.close()
        shards.append((path, meta, rows))
    return shards


def _check_meta(path: str, meta: dict, index: int, count: int) -> None:
    if meta.get('format_version') != FORMAT_VERSION:
        raise RuntimeError(f'{path}: LMDB format version {meta.get("format_version")}, this code reads '
                           f'{FORMAT_VERSION}; convert the CSV again with tools/dataset_converters/csv_to_lmdb.py')
    if not meta.get('complete'):
        raise RuntimeError(f'{path}: shard is incomplete (conversion interrupted?); rerun '
                           f'tools/dataset_converters/csv_to_lmdb.py with the same arguments to resume it')
    if meta.get('shard') != index or meta.get('num_shards') != count:
        raise RuntimeError(f'{path}: shard {meta.get("shard")} of {meta.get("num_shards")} found as '
                           f'folder {index} of {count}; shards are missing or left over from another '
                           f'conversion')
