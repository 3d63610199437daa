"""Verify an LMDB copy: list every row the dataset would not serve, and why.

Two kinds, in CSV line order: rows the dataset drops while reading annotations (empty caption,
mis-encoded field, unparsable record...), and usable rows whose image is bad (missing key, bytes the
loader refuses, too many pixels...). A copy that passes serves every row; one whose rows are all
unusable is never reported as verified.
"""
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from tqdm import tqdm

from ..annotation_csv import AnnotationRow, check_row
from ..lmdb_backend import image_key, load_shards, open_readonly
from ..transforms.loading import DEFAULT_MAX_ASPECT_RATIO, DEFAULT_MAX_PIXELS, decode_checked


@dataclass
class VerifyReport:
    lmdb_path: str
    rows: int = 0
    usable_rows: int = 0  # rows the dataset keeps (their image may still be bad)
    images: int = 0
    # (CSV line, image key or None for a row problem, reason), in line order
    bad: List[Tuple[int, Optional[str], str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every row is served, and there is at least one."""
        return not self.bad and self.usable_rows > 0


def verify_lmdb(lmdb_path: str, *, max_pixels: Optional[int] = DEFAULT_MAX_PIXELS,
                max_aspect_ratio: Optional[float] = DEFAULT_MAX_ASPECT_RATIO,
                progress: bool = True) -> VerifyReport:
    """Check every row, and decode every image the usable rows name, as the dataset and loader would."""
    report = VerifyReport(lmdb_path=osp.abspath(lmdb_path))
    for path, meta, rows in load_shards(lmdb_path):  # also checks every shard is complete
        report.rows += len(rows)
        bad: List[Tuple[int, Optional[str], str]] = []
        usable = _usable_rows(meta.get('source_csv', ''), rows, bad)
        report.usable_rows += len(usable)
        reasons: Dict[str, Optional[str]] = {}  # one decode per image, however many captions it has
        env = open_readonly(path)
        try:
            with env.begin(buffers=False) as txn:
                for line, name in tqdm(usable, desc=f'verify {osp.basename(path)}', unit='row',
                                       disable=not progress, dynamic_ncols=True):
                    if name not in reasons:
                        reasons[name] = _image_problem(name, txn.get(image_key(name)), path, meta, max_pixels,
                                                       max_aspect_ratio)
                    if reasons[name]:
                        bad.append((line, name, reasons[name]))
        finally:
            env.close()
        report.images += len(reasons)
        report.bad.extend(sorted(bad, key=lambda entry: entry[0]))
    return report


def _usable_rows(source_csv: str, rows: List[AnnotationRow],
                 bad: List[Tuple[int, Optional[str], str]]) -> List[Tuple[int, str]]:
    """(line, image) of the rows the dataset keeps; the others go to ``bad`` with their reason."""
    usable = []
    for row in rows:
        error = check_row(source_csv, row)
        if error is None:
            usable.append((row.line, row.record['image']))
        else:
            where = f"column '{error.column}': " if error.column else ''
            bad.append((row.line, None, f'{where}{error.reason} (the dataset drops this row)'))
    return usable


def _image_problem(name: str, value: Optional[bytes], path: str, meta: dict, max_pixels,
                   max_aspect_ratio) -> Optional[str]:
    if value is None:
        # The converter records why it did not store a file (the first ones per shard).
        why = (meta.get('image_problems') or {}).get(name, 'image file missing or refused')
        return f'key not found in {path} (not stored at conversion: {why})'
    _, problem = decode_checked(value, max_pixels, max_aspect_ratio)
    return problem
