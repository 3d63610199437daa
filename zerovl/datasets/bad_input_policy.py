"""What a dataset does with a bad input: stop with a named error ('raise'), or drop it and count ('skip').

Two kinds of bad input, handled at two moments:

* a bad annotation row (empty or mis-encoded caption, unparsable record) is found while the CSV (or
  the LMDB copy of its rows) is read: under 'skip' the row is dropped before the dataset has a length;
* a bad sample (missing, empty, truncated or oversized image, missing LMDB key) is only found when the
  pipeline loads it in ``__getitem__``: under 'skip' the dataset serves another sample of its own
  instead, so a batch keeps its size and its single source (see ``ImageTextDataset``).

Counting, and remembering, is per process. DataLoader workers are separate processes and each keeps
its own counts, so ``max_skip_ratio`` is checked against what one process has seen; distinct bad
samples are counted, so the ratio does not creep up with epochs. Within one epoch a process meets only
its share of the dataset, so the check errs late, never early.

A process remembers the bad samples it met and replaces them later without reading or logging them
again. That memory lives as long as the process: the main process (``num_workers=0``) and persistent
workers (``persistent_workers=True``) keep it across epochs; non-persistent workers are started afresh
from the main process's copy every epoch, so they read, log and count a bad sample again each epoch
(the counts restart with them, so the ratio still does not creep). Sharing the memory between
processes would need shared state the design deliberately avoids; use persistent workers to log each
bad sample once per run.
"""
import logging
from typing import Dict, List, Optional, Tuple

from mmengine.logging import print_log

from .errors import BadSampleError, TooManyBadSamplesError

ON_ERROR_CHOICES = ('raise', 'skip')
DEFAULT_MAX_SKIP_RATIO = 0.01
# Rows dropped at load time are logged one by one up to this many, then only counted: a CSV with
# thousands of bad rows must not flood the log (the full list stays in ``dropped_rows``).
MAX_LOGGED_ROWS = 20
# How many bad rows and samples the ratio error lists, to start the hunt from.
MAX_LISTED = 5


def resolve_on_error(on_error: Optional[str], test_mode: bool) -> str:
    """The policy to use: as configured, or 'raise' for evaluation and 'skip' for training.

    Evaluation must see every sample (a skipped query changes the retrieval numbers); training on a
    web crawl must not stop for one broken JPEG in a million.
    """
    if on_error is None:
        return 'raise' if test_mode else 'skip'
    if on_error not in ON_ERROR_CHOICES:
        raise ValueError(f'on_error must be one of {ON_ERROR_CHOICES} (or None for the default), '
                         f'got {on_error!r}')
    return on_error


class BadInputPolicy:
    """The bad-input bookkeeping of one dataset in one process (plain data: it pickles to workers).

    Args:
        dataset_name: named in every log line and error.
        on_error: 'raise' or 'skip'.
        max_skip_ratio: under 'skip', the largest tolerated share of bad rows + bad samples among the
            rows read; None for no limit.
    """

    def __init__(self, dataset_name: str, on_error: str, max_skip_ratio: Optional[float]) -> None:
        if on_error not in ON_ERROR_CHOICES:
            raise ValueError(f'on_error must be one of {ON_ERROR_CHOICES}, got {on_error!r}')
        if max_skip_ratio is not None and not 0.0 <= max_skip_ratio <= 1.0:
            raise ValueError(f'max_skip_ratio must be in [0, 1] or None, got {max_skip_ratio!r}')
        self.dataset_name = dataset_name
        self.on_error = on_error
        self.max_skip_ratio = max_skip_ratio
        self.rows_read = 0
        self.dropped_rows: List[Tuple[Optional[int], str]] = []  # (CSV line, error text)
        self.bad_samples: Dict[int, str] = {}  # dataset index -> error text, in the order met
        self.replacements = 0  # samples served in place of a bad one, repeats over epochs included

    # ------------------------------------------------------------------ load time: annotation rows

    def start_loading(self) -> None:
        # A dataset can be loaded again (full_init after a config change); counts restart with it.
        self.rows_read = 0
        self.dropped_rows = []
        self.bad_samples = {}
        self.replacements = 0

    def drop_row(self, error: BadSampleError) -> None:
        """Handle one bad annotation row: raise it, or drop it with a log line (the first few)."""
        if self.on_error == 'raise':
            raise error
        self.dropped_rows.append((error.row, str(error)))
        if len(self.dropped_rows) <= MAX_LOGGED_ROWS:
            self.warn(f'dropped row {error.row}: {error}')

    def finish_loading(self, rows_read: int, source: str) -> None:
        """Log a summary of the dropped rows and stop if they alone exceed the ratio.

        ``rows_read`` is the denominator of the ratio until ``set_rows`` narrows it to a subset.
        """
        self.rows_read = rows_read
        if not self.dropped_rows:
            return
        lines = [row for row, _ in self.dropped_rows]
        more = len(lines) - MAX_LOGGED_ROWS
        listed = ', '.join(str(line) for line in lines[:MAX_LOGGED_ROWS]) + (f' and {more} more' if more > 0 else '')
        self.warn(f'dropped {len(lines)} of {rows_read} rows of {source} (rows {listed}); '
                   f'{self._limit_text()}')
        self.check_ratio()

    def set_rows(self, num_samples: int) -> None:
        """Make the ratio relative to the samples the dataset really serves (after mmengine's
        ``indices`` subset), plus the rows dropped before it had any."""
        self.rows_read = num_samples + len(self.dropped_rows)

    # ------------------------------------------------------------------ sample time: images

    def is_known_bad(self, index: int) -> bool:
        return index in self.bad_samples

    def record_bad_sample(self, index: int, error: BadSampleError) -> None:
        """Count a newly found bad sample, log it with its row, and stop past the ratio."""
        self.bad_samples[index] = str(error)
        self.warn(f'skipped sample {index}: {error} [{self._limit_text()}]')
        self.check_ratio()

    def count_replacement(self) -> None:
        self.replacements += 1

    # ------------------------------------------------------------------ the limit

    @property
    def num_bad(self) -> int:
        return len(self.dropped_rows) + len(self.bad_samples)

    def check_ratio(self) -> None:
        if self.max_skip_ratio is None or self.rows_read == 0:
            return
        if self.num_bad > self.max_skip_ratio * self.rows_read:
            raise TooManyBadSamplesError(self._ratio_message())

    def _ratio_message(self) -> str:
        examples = [text for _, text in self.dropped_rows[:MAX_LISTED]]
        examples += list(self.bad_samples.values())[:MAX_LISTED - len(examples)]
        return (f"dataset '{self.dataset_name}': {self.num_bad} bad of {self.rows_read} rows "
                f'({len(self.dropped_rows)} rows dropped while reading annotations, '
                f'{len(self.bad_samples)} samples skipped in this process) exceeds '
                f'max_skip_ratio={self.max_skip_ratio} (at most {int(self.max_skip_ratio * self.rows_read)}). '
                f'A share this large is usually systematic (wrong image folder, incomplete copy or '
                f'LMDB, shifted CSV columns). First ones:\n  ' + '\n  '.join(examples))

    def _limit_text(self) -> str:
        if self.max_skip_ratio is None:
            return f'{self.num_bad} bad in this process, no limit'
        return (f'{self.num_bad} bad in this process, limit max_skip_ratio={self.max_skip_ratio} '
                f'of {self.rows_read} rows = {int(self.max_skip_ratio * self.rows_read)}')

    @property
    def counts(self) -> Dict[str, int]:
        """Counts of this process: rows dropped at load, distinct bad samples, replacements served."""
        return dict(rows_read=self.rows_read, rows_dropped=len(self.dropped_rows),
                    samples_skipped=len(self.bad_samples), replacements=self.replacements)

    def warn(self, message: str) -> None:
        print_log(f"[bad input] dataset '{self.dataset_name}': {message}", logger='current',
                  level=logging.WARNING)
