"""Image-caption pairs in the original ZeroVL layout: one CSV row per caption, images in a folder.

Layout, unchanged from ZeroVL so existing data prepared for it works as is::

    {data_root}/{name}/{split}_anno.csv     columns image,image_id,caption,caption_id (others ignored)
    {data_root}/{name}/{split}/<image>      split is 'train' or 'valid'

Several sources are combined with mmengine's ``ConcatDataset`` (or a debiased sampler over it); every
sample carries ``dataset_name`` so the source stays known after concatenation.
"""
import csv
import os.path as osp
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from mmengine.dataset import BaseDataset

from zerovl.registry import DATASETS
from .errors import BadSampleError

REQUIRED_COLUMNS = ('image', 'image_id', 'caption', 'caption_id')


def read_annotation_rows(ann_file: str) -> Iterator[Tuple[int, Dict[str, str]]]:
    """Yield ``(line_number, {column: value})`` for each record of an annotation CSV.

    The csv module rather than pandas: it keeps every value a string ("NA" and "null" are captions,
    not missing values) and it reports true line numbers even when a quoted caption spans lines, so
    an error can point at the line a user would open in an editor. Line 1 is the header.
    """
    # utf-8-sig: spreadsheet exports often start with a byte-order mark that would glue itself to
    # the first column name and make 'image' look missing.
    with open(ann_file, newline='', encoding='utf-8-sig') as f:
        reader = csv.reader(f)
        header = [name.strip() for name in next(reader, [])]
        positions = _column_positions(ann_file, header)
        first_line = reader.line_num + 1
        for fields in reader:
            if fields:  # blank lines carry no record
                yield first_line, {column: _field(fields, pos) for column, pos in positions.items()}
            first_line = reader.line_num + 1


def _column_positions(ann_file: str, header: Sequence[str]) -> Dict[str, int]:
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise ValueError(f'{ann_file}: missing required column(s) {missing}; '
                         f'expected {list(REQUIRED_COLUMNS)}, found {list(header)}')
    return {column: header.index(column) for column in REQUIRED_COLUMNS}


def _field(fields: Sequence[str], position: int) -> str:
    # A short row (fewer fields than the header) reads as empty values, which the checks below reject
    # with the row number, instead of an IndexError without one.
    return fields[position] if position < len(fields) else ''


def _check_record(ann_file: str, line: int, record: Dict[str, str]) -> None:
    if not record['caption'].strip():
        raise BadSampleError('empty caption', file=ann_file, row=line, column='caption')
    if not record['image'].strip():
        raise BadSampleError('empty image file name', file=ann_file, row=line, column='image')


@DATASETS.register_module()
class ImageTextDataset(BaseDataset):
    """One caption per sample, read from a ZeroVL annotation CSV.

    Args:
        data_root: folder that holds one sub-folder per source.
        name: the source's sub-folder, also reported as ``dataset_name``.
        split: 'train' or 'valid'; picks ``{split}_anno.csv`` and the ``{split}/`` image folder.
        ann_file: overrides ``{name}/{split}_anno.csv`` (relative paths are joined to ``data_root``).
        img_dir: overrides ``{name}/{split}`` (relative paths are joined to ``data_root``).
        pipeline: transforms applied to each sample.
        test_mode: mmengine's flag; in test mode a sample whose pipeline returns None is an error
            instead of being replaced by a random other one.
        **kwargs: other ``mmengine.dataset.BaseDataset`` arguments (``lazy_init``, ``indices``,
            ``serialize_data``, ``max_refetch``, ...).

    ``get_data_info(i)`` returns ``img_path`` (absolute), ``image_id``, ``caption``, ``caption_id``
    (ids kept as the strings in the CSV), ``dataset_name``, ``row`` (CSV line, header = 1),
    ``ann_file`` and mmengine's ``sample_idx``.
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
                 pipeline: Sequence = (),
                 test_mode: bool = False,
                 **kwargs) -> None:
        self.name = name
        self.split = split
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

    def load_data_list(self) -> List[dict]:
        """Read and check every row; a bad row stops loading with its line number."""
        self._check_paths()
        records = []
        for line, record in read_annotation_rows(self.ann_file):
            _check_record(self.ann_file, line, record)
            # Only what differs per row is stored: a 14M-row source keeps these records for the
            # whole run, so the constant parts (folder, CSV path, source name) are added per
            # access in get_data_info instead of being repeated 14M times.
            records.append(dict(image=record['image'], image_id=record['image_id'],
                                caption=record['caption'], caption_id=record['caption_id'], row=line))
        return records

    def _check_paths(self) -> None:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f"annotation file of dataset '{self.name}' (split '{self.split}') not found: "
                f'{osp.abspath(self.ann_file)}')
        if not osp.isdir(self.img_dir):
            raise FileNotFoundError(
                f"image directory of dataset '{self.name}' (split '{self.split}') not found: "
                f'{self.img_dir} (annotations: {osp.abspath(self.ann_file)})')

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)  # adds 'sample_idx'
        info['img_path'] = osp.join(self.img_dir, info.pop('image'))
        info['dataset_name'] = self.name
        info['ann_file'] = osp.abspath(self.ann_file)
        return info
