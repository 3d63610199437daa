"""The error raised for one bad sample: it names the annotation file, the row, the column and the reason.

A web-scale crawl always holds some broken rows (a truncated JPEG, an empty caption). A bare
``cv2.error`` or ``NoneType has no attribute shape`` from inside a DataLoader worker tells the user
nothing; this error tells them which line of which CSV to fix or drop.
"""
from typing import Optional


class BadSampleError(ValueError):
    """One annotation row cannot be turned into a training sample.

    Attributes:
        file: the annotation file (CSV) that holds the row.
        row: 1-based line number in that file, the header being line 1.
        column: the column whose value is bad ('image', 'caption', ...).
        reason: what is wrong, in words.
        path: the file the value points to (the image path), when there is one.
    """

    def __init__(self,
                 reason: str,
                 file: Optional[str] = None,
                 row: Optional[int] = None,
                 column: Optional[str] = None,
                 path: Optional[str] = None) -> None:
        self.reason = reason
        self.file = file
        self.row = row
        self.column = column
        self.path = path
        super().__init__(self._describe())

    def _describe(self) -> str:
        if self.file is None and self.row is None and self.column is None and self.path is None:
            # Re-raised by torch's DataLoader as ``BadSampleError(text)``: the text already says it all.
            return self.reason
        where = [f'{self.file}' if self.file else '<unknown annotation file>']
        if self.row is not None:
            where.append(f'row {self.row}')
        if self.column is not None:
            where.append(f"column '{self.column}'")
        message = ', '.join(where)
        if self.path is not None:
            message += f' ({self.path})'
        return f'{message}: {self.reason}'

    def __reduce__(self):
        # Errors raised in a DataLoader worker are pickled back to the main process; the default
        # reduction would call __init__ with the message alone and lose the attributes.
        return (type(self), (self.reason, self.file, self.row, self.column, self.path))


class TooManyBadSamplesError(RuntimeError):
    """A dataset under ``on_error='skip'`` skipped more than its ``max_skip_ratio`` allows.

    Skipping is for the stray broken file of a web crawl; when a large share of a source is bad, the
    cause is almost always systematic (a wrong image folder, a half-copied LMDB, a CSV with shifted
    columns) and training on the rest would silently change the data mix. The message names the
    dataset, the counts and the first bad rows. A single-string constructor, so that torch's
    DataLoader can re-raise it from a worker with its message.
    """


class ShardSampleError(BadSampleError):
    """A sample of a webdataset shard that cannot be served: it names the shard (tar path) and the
    sample's key, the coordinates a user needs to find it (``tar -tf shard | grep key``).

    ``key`` is None for what concerns the shard as a whole (missing file, unreadable tar).
    """

    def __init__(self, reason: str, shard: str, key: Optional[str] = None) -> None:
        self.shard = shard
        self.key = key
        super().__init__(reason, file=shard, path=None if key is None else f'{shard}:{key}')

    def _describe(self) -> str:
        where = f'shard {self.shard}' + ('' if self.key is None else f', key {self.key!r}')
        return f'{where}: {self.reason}'

    def __reduce__(self):
        return (type(self), (self.reason, self.shard, self.key))
