"""Image-caption pairs in the original ZeroVL layout (one CSV row per caption) or its LMDB copy.

Layout, unchanged from ZeroVL so existing data prepared for it works as is::

    {data_root}/{name}/{split}_anno.csv     columns image,image_id,caption,caption_id (others ignored)
    {data_root}/{name}/{split}/<image>      split is 'train' or 'valid'
    {data_root}/{name}/{split}.lmdb/        optional: the same rows and images, see lmdb_backend.py

Several sources are combined with mmengine's ``ConcatDataset`` (or a debiased sampler over it); every
sample carries ``dataset_name`` so the source stays known after concatenation.
"""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

from mmengine.dataset import BaseDataset

from zerovl.registry import DATASETS
from zerovl.utils.schema import check_keys, keyword_names
from .annotation_csv import REQUIRED_COLUMNS, AnnotationRow, check_row, read_annotation_rows
from .bad_input_policy import DEFAULT_MAX_SKIP_RATIO, BadInputPolicy, resolve_on_error
from .errors import BadSampleError, TooManyBadSamplesError
from .image_ids import check_image_ids
from .lmdb_backend import load_shards

__all__ = ['ImageTextDataset', 'REQUIRED_COLUMNS', 'read_annotation_rows']

SOURCES = ('files', 'lmdb')
# Under on_error='skip', a bad sample is replaced by the next index of the same dataset; this many
# bad ones in a row means the source is broken as a whole (a wrong folder), not here and there.
MAX_REPLACEMENT_TRIES = 100
# BaseDataset arguments a config may pass through **kwargs (the others are set from this class's own).
SET_HERE = ('ann_file', 'data_root', 'data_prefix', 'pipeline', 'test_mode')
BASE_DATASET_KEYS = tuple(key for key in keyword_names(BaseDataset.__init__) if key not in SET_HERE)


@DATASETS.register_module()
class ImageTextDataset(BaseDataset):
    """One caption per sample, read from a ZeroVL annotation CSV and image folder, or their LMDB copy.

    Args:
        data_root: folder that holds one sub-folder per source.
        name: the source's sub-folder, also reported as ``dataset_name``.
        split: 'train' or 'valid'; picks ``{split}_anno.csv``, the ``{split}/`` image folder and the
            ``{split}.lmdb`` copy.
        ann_file: overrides ``{name}/{split}_anno.csv`` (relative paths are joined to ``data_root``).
        img_dir: overrides ``{name}/{split}`` (relative paths are joined to ``data_root``).
        source: 'files' (the CSV and the image folder) or 'lmdb' (rows and images from the shards
            under ``lmdb_path``, written by tools/dataset_converters/csv_to_lmdb.py; no CSV or folder needed).
        lmdb_path: overrides ``{name}/{split}.lmdb`` (relative paths are joined to ``data_root``).
        on_error: 'raise' stops at the first bad row or sample with an error naming it; 'skip' drops
            bad rows while loading and replaces a bad sample by the next good one of this dataset.
            None (default): 'raise' in ``test_mode`` (evaluation), 'skip' otherwise (training).
        max_skip_ratio: under 'skip', the largest share of bad rows + bad samples (per process, see
            bad_input_policy.py) before ``TooManyBadSamplesError`` stops the run; None for no limit.
        pipeline: transforms applied to each sample.
        test_mode: mmengine's flag; also selects the default ``on_error``.
        **kwargs: other ``mmengine.dataset.BaseDataset`` arguments (``lazy_init``, ``indices``,
            ``serialize_data``, ``max_refetch``, ...).

    ``get_data_info(i)`` returns ``img_path`` (absolute, with its folder ``img_root``; for LMDB
    ``<shard>:<image>``, with ``lmdb_path`` and ``lmdb_key`` added), ``image_id``, ``caption``,
    ``caption_id`` (ids kept as the strings in the CSV), ``dataset_name``, ``row`` (CSV line, header = 1),
    ``ann_file`` and mmengine's ``sample_idx``. Rows repeating an earlier ``caption_id`` are kept (nothing
    is keyed by caption ids) and counted in ``num_duplicate_caption_ids`` with one warning. A source with no
    usable row is an error naming its file. In ``test_mode`` a blank ``image_id``, or one naming several
    image files, is an error too (see image_ids.py): retrieval scores captions per image_id.
    """

    # Empty and shared by every source: mmengine's ConcatDataset refuses datasets whose metainfo
    # differ, and captions have no class list to describe.
    METAINFO: dict = dict()

    def __init__(self,
                 data_root: str,
                 name: str,
                 split: str = 'train',
                 ann_file: Optional[str] = None,
                 img_dir: Optional[str] = None,
                 source: str = 'files',
                 lmdb_path: Optional[str] = None,
                 on_error: Optional[str] = None,
                 max_skip_ratio: Optional[float] = DEFAULT_MAX_SKIP_RATIO,
                 pipeline: Sequence = (),
                 test_mode: bool = False,
                 **kwargs) -> None:
        check_keys(kwargs, BASE_DATASET_KEYS + keyword_names(ImageTextDataset.__init__),
                   f"{type(self).__name__}(name='{name}')")
        if source not in SOURCES:
            raise ValueError(f"dataset '{name}': source must be one of {SOURCES}, got {source!r}")
        self.name = name
        self.split = split
        self.source = source
        self.lmdb_path = osp.join(data_root, lmdb_path if lmdb_path is not None else
                                  osp.join(name, f'{split}.lmdb'))
        self.policy = BadInputPolicy(name, resolve_on_error(on_error, test_mode), max_skip_ratio)
        self.num_duplicate_caption_ids = 0
        self._shard_paths: List[str] = []
        self._source_csv: Optional[str] = None
        super().__init__(
            ann_file=ann_file if ann_file is not None else osp.join(name, f'{split}_anno.csv'),
            data_root=data_root,
            data_prefix=dict(img_path=img_dir if img_dir is not None else osp.join(name, split)),
            pipeline=list(pipeline),
            test_mode=test_mode,
            **kwargs)

    @property
    def img_dir(self) -> str:
        return osp.abspath(self.data_prefix['img_path'])

    @property
    def on_error(self) -> str:
        return self.policy.on_error

    @property
    def skip_counts(self) -> dict:
        """This process's counts: rows read, rows dropped, distinct samples skipped, replacements."""
        return self.policy.counts

    # ------------------------------------------------------------------ loading the rows

    def full_init(self) -> None:
        already = self._fully_initialized
        super().full_init()
        if not already:
            self.policy.set_rows(len(self))  # after mmengine's ``indices`` subset, if any

    def load_data_list(self) -> List[dict]:
        """Read every row; a bad one raises (on_error='raise') or is dropped and counted ('skip')."""
        self.policy.start_loading()
        rows, source = self._read_rows()
        records, seen_ids, duplicates = [], set(), []
        for shard, row in rows:
            error = check_row(self._source_csv, row)
            if error is not None:
                self.policy.drop_row(error)
                continue
            record = row.record
            if record['caption_id'] in seen_ids:
                duplicates.append(row.line)
            seen_ids.add(record['caption_id'])
            # Only what differs per row is stored: a 14M-row source keeps these records for the
            # whole run, so the constant parts (folder, CSV path, source name) are added per
            # access in get_data_info instead of being repeated 14M times.
            records.append(dict(image=record['image'], image_id=record['image_id'], caption=record['caption'],
                                caption_id=record['caption_id'], row=row.line, **_shard_field(shard)))
        self.policy.finish_loading(len(rows), source)
        self._report_duplicates(duplicates, source)
        if not records:
            # Raised here, naming the file: later, mmengine or a sampler would fail with a message
            # about empty arrays that names nothing.
            raise ValueError(f"dataset '{self.name}' (split '{self.split}') has no usable row: {source} holds "
                             f'{len(rows)} record(s), {len(self.policy.dropped_rows)} of them dropped as bad')
        if self.test_mode:
            check_image_ids(records, self._source_csv)
        return records

    def _read_rows(self) -> Tuple[List[Tuple[Optional[int], AnnotationRow]], str]:
        """(shard index or None, row) for every record of the configured source, and its name."""
        if self.source == 'files':
            self._check_paths()
            self._source_csv = osp.abspath(self.ann_file)
            return [(None, row) for row in read_annotation_rows(self.ann_file)], self._source_csv
        try:
            shards = load_shards(self.lmdb_path)
        except FileNotFoundError as error:
            raise FileNotFoundError(f"LMDB of dataset '{self.name}' (split '{self.split}'): {error}") from None
        self._shard_paths = [osp.abspath(path) for path, _, _ in shards]
        self._source_csv = shards[0][1]['source_csv']
        rows = [(index, row) for index, (_, _, shard_rows) in enumerate(shards) for row in shard_rows]
        return rows, f'{osp.abspath(self.lmdb_path)} (from {self._source_csv})'

    def _check_paths(self) -> None:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f"annotation file of dataset '{self.name}' (split '{self.split}') not found: "
                f'{osp.abspath(self.ann_file)}')
        if not osp.isdir(self.img_dir):
            raise FileNotFoundError(
                f"image directory of dataset '{self.name}' (split '{self.split}') not found: "
                f'{self.img_dir} (annotations: {osp.abspath(self.ann_file)})')

    def _report_duplicates(self, duplicate_lines: List[int], source: str) -> None:
        self.num_duplicate_caption_ids = len(duplicate_lines)
        if duplicate_lines:
            shown = ', '.join(str(line) for line in duplicate_lines[:10])
            self.policy.warn(f'{len(duplicate_lines)} rows of {source} repeat the caption_id of an earlier '
                              f'row (rows {shown}{", ..." if len(duplicate_lines) > 10 else ""}); all are kept')

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)  # adds 'sample_idx'
        image = info.pop('image')
        shard = info.pop('shard', None)
        if shard is None:
            info['img_path'] = osp.join(self.img_dir, image)
            info['img_root'] = self.img_dir  # LoadImageFromFile reads only paths that resolve inside it
        else:
            info['lmdb_path'] = self._shard_paths[shard]
            info['lmdb_key'] = image
            info['img_path'] = f'{self._shard_paths[shard]}:{image}'
        info['dataset_name'] = self.name
        info['ann_file'] = self._source_csv
        return info

    # ------------------------------------------------------------------ serving samples

    def __getitem__(self, idx: int) -> dict:
        if self.policy.on_error == 'raise':
            return super().__getitem__(idx)
        return self._get_or_replace(idx)

    def _get_or_replace(self, idx: int) -> dict:
        """The sample at ``idx`` or, if it is bad, the next good one of this same dataset.

        The next index rather than a random one: the choice is deterministic (a resumed run serves
        the same samples), needs no RNG of its own, and stays inside this dataset, so a batch that a
        debiased sampler drew from one source stays from one source after concatenation.
        """
        length = len(self)
        if length == 0:
            raise IndexError(f"dataset '{self.name}' is empty (every row was dropped or the CSV has none)")
        start = idx % length
        for step in range(min(MAX_REPLACEMENT_TRIES, length)):
            candidate = (start + step) % length
            if self.policy.is_known_bad(candidate):
                continue  # met before by this process: counted and logged once, not decoded again
            try:
                data = super().__getitem__(candidate)
            except BadSampleError as error:
                self.policy.record_bad_sample(candidate, error)
                continue
            if step:
                self.policy.count_replacement()
            return data
        raise TooManyBadSamplesError(
            f"dataset '{self.name}': samples {start} to {candidate} (of {length}) are all bad, "
            f'{step + 1} in a row; the source looks broken as a whole (wrong image folder or LMDB?). '
            f'Counts in this process: {self.skip_counts}')


def _shard_field(shard: Optional[int]) -> dict:
    return {} if shard is None else dict(shard=shard)
