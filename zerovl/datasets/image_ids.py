"""Check the ``image_id`` column of an evaluation split: retrieval is scored per image_id.

Retrieval evaluation groups captions by ``image_id`` and treats every distinct id as one gallery image.
A blank column, or one id shared by several image files (a constant column, ids shifted by an export),
silently merges those images: with a constant id every caption matches "its" image and R@k reads 100.
So in test mode both are errors naming the file, the rows and the column, before any number is computed.
"""
from typing import Dict, List, Sequence

from .errors import BadSampleError

MAX_LISTED = 5


def check_image_ids(records: Sequence[dict], source: str) -> None:
    """Raise ``BadSampleError`` for a blank image_id or one image_id naming several image files.

    ``records`` are the dataset's rows (``image``, ``image_id``, ``row``); ``source`` names the file.
    """
    blank = [record['row'] for record in records if not record['image_id'].strip()]
    if blank:
        raise BadSampleError(f'empty image_id in {len(blank)} row(s) (rows {_listed(blank)}); evaluation '
                             f'groups captions by image_id, so every row needs one',
                             file=source, row=blank[0], column='image_id')
    images: Dict[str, Dict[str, int]] = {}  # image_id -> image file -> first row naming it
    for record in records:
        images.setdefault(record['image_id'], {}).setdefault(record['image'], record['row'])
    for image_id, files in images.items():
        if len(files) > 1:
            rows = sorted(files.values())
            raise BadSampleError(
                f'image_id {image_id!r} names {len(files)} different image files '
                f'({_listed(list(files))}; first at rows {_listed(rows)}); evaluation would score them '
                f'as one image. Give each image file its own image_id', file=source, row=rows[1],
                column='image_id')


def _listed(items: List) -> str:
    shown = ', '.join(str(item) for item in items[:MAX_LISTED])
    return shown + (f' and {len(items) - MAX_LISTED} more' if len(items) > MAX_LISTED else '')
