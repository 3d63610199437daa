"""Read a ZeroVL annotation CSV row by row, so that one broken row never hides the rest of the file.

A crawled CSV has broken rows: bytes that are not UTF-8 (one mis-encoded caption in a million), a
field the csv module refuses (a stray quote swallowing the following lines), an empty caption, the
text 'nan' where an export wrote a missing value. Each is reported as a problem of its own row, with
the line number a user would open in an editor; what to do with it (stop, or drop and count) is the
dataset's bad-input policy, not the reader's.
"""
import csv
import re
from typing import Dict, Iterator, NamedTuple, Optional, Sequence

from .errors import BadSampleError

REQUIRED_COLUMNS = ('image', 'image_id', 'caption', 'caption_id')

# Lone surrogates are how Python's 'surrogateescape' error handler keeps bytes that are not UTF-8;
# finding one in a field means that field was mis-encoded in the file.
_UNDECODABLE = re.compile('[\udc80-\udcff]')


class AnnotationRow(NamedTuple):
    """One record of the CSV: its first line (header = line 1) and its values, or why it has none."""
    line: int
    record: Optional[Dict[str, str]]
    error: Optional[str] = None  # set when the csv module could not parse the record at all


def read_annotation_rows(ann_file: str) -> Iterator[AnnotationRow]:
    """Yield every record of an annotation CSV, parse failures included, in file order.

    The csv module rather than pandas: it keeps every value a string ("NA" and "null" are captions,
    not missing values) and it reports true line numbers even when a quoted caption spans lines.
    A missing required column, or a repeated column name, is a configuration error and raises
    ``ValueError`` at once.
    """
    # utf-8-sig: spreadsheet exports often start with a byte-order mark that would glue itself to
    # the first column name. surrogateescape: a non-UTF-8 byte becomes a marker in its own field
    # (found by check_record) instead of a UnicodeDecodeError that would abort the whole file.
    with open(ann_file, newline='', encoding='utf-8-sig', errors='surrogateescape') as f:
        reader = csv.reader(f)
        header = [name.strip() for name in next(reader, [])]
        positions = column_positions(ann_file, header)
        first_line = reader.line_num + 1
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                # The reader resets itself on the next call, so the rows after this one still load.
                yield AnnotationRow(first_line, None, f'unparsable CSV record ({error}); '
                                                      f'lines {first_line}-{reader.line_num}')
            else:
                if fields:  # blank lines carry no record
                    yield AnnotationRow(first_line, {c: _field(fields, p) for c, p in positions.items()})
            first_line = reader.line_num + 1


def column_positions(ann_file: str, header: Sequence[str]) -> Dict[str, int]:
    """Where each required column sits; extra columns are ignored, a missing or repeated name is an error."""
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise ValueError(f'{ann_file}: missing required column(s) {missing}; '
                         f'expected {list(REQUIRED_COLUMNS)}, found {list(header)}')
    # Two columns of one name leave no right answer as to which holds the data (a join or an export
    # that appended instead of replacing). Blank names, from trailing commas, carry nothing.
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        positions = {name: [i + 1 for i, other in enumerate(header) if other == name] for name in repeated}
        raise ValueError(f'{ann_file}, row 1: duplicated column name(s) '
                         + ', '.join(f'{name!r} (columns {positions[name]})' for name in repeated)
                         + '; rename or remove all but one')
    return {column: header.index(column) for column in REQUIRED_COLUMNS}


def _field(fields: Sequence[str], position: int) -> str:
    # A short row (fewer fields than the header) reads as empty values, which check_record rejects
    # with the row number, instead of an IndexError without one.
    return fields[position] if position < len(fields) else ''


def check_row(ann_file: str, row: AnnotationRow) -> Optional[BadSampleError]:
    """The problem of one row as an error naming file, line and column; None for a usable row."""
    if row.record is None:
        return BadSampleError(row.error or 'unparsable CSV record', file=ann_file, row=row.line)
    return check_record(ann_file, row.line, row.record)


def check_record(ann_file: str, line: int, record: Dict[str, str]) -> Optional[BadSampleError]:
    for column in REQUIRED_COLUMNS:
        if _UNDECODABLE.search(record[column]):
            return BadSampleError('bytes that are not valid UTF-8', file=ann_file, row=line, column=column)
    caption = record['caption'].strip()
    if not caption:
        return BadSampleError('empty caption', file=ann_file, row=line, column='caption')
    # 'nan' is what str() of a pandas/numpy missing value writes (df.caption.astype(str)); no real
    # caption is that word alone. "NA" and "null" stay captions: they are short but real text.
    if caption.lower() == 'nan':
        return BadSampleError("caption 'nan' (a missing value written as text)", file=ann_file, row=line,
                              column='caption')
    if not record['image'].strip():
        return BadSampleError('empty image file name', file=ann_file, row=line, column='image')
    if '\x00' in record['image']:
        # No file system allows it, and open() would raise a ValueError naming nothing.
        return BadSampleError('image file name contains a NUL byte', file=ann_file, row=line, column='image')
    return None
