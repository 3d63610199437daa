"""A progress display for the validation and test loops: batches done / total, samples/s and ETA."""
import datetime
import importlib.util
import sys
import time
from typing import Optional, TextIO

from mmengine.hooks import Hook

from zerovl.registry import HOOKS
from zerovl.utils.dist import get_rank


def batch_size_of(data_batch) -> Optional[int]:
    """Samples in a collated batch: its ``data_samples`` list, else its (first) input's length."""
    if isinstance(data_batch, dict):
        samples = data_batch.get('data_samples')
        if isinstance(samples, (list, tuple)):
            return len(samples)
        inputs = data_batch.get('inputs')
        if isinstance(inputs, dict):  # zerovl's batches: images, input_ids, attention_mask
            inputs = next(iter(inputs.values()), None)
        return _length(inputs)
    return _length(data_batch)


def _length(inputs) -> Optional[int]:
    if isinstance(inputs, (list, tuple)):  # mmengine's pseudo_collate keeps samples in a list
        return len(inputs)
    shape = getattr(inputs, 'shape', None)
    return int(shape[0]) if shape is not None and len(shape) > 0 else None


def format_duration(seconds: float) -> str:
    return str(datetime.timedelta(seconds=int(round(seconds))))


class ProgressState:
    """Batches and samples done since ``start``; rate and ETA derived from the wall clock."""

    def __init__(self, total: Optional[int]) -> None:
        self.total = total
        self.batches = 0
        self.samples = 0
        self.start = time.perf_counter()

    def advance(self, samples: Optional[int]) -> None:
        self.batches += 1
        self.samples += samples or 0

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def samples_per_second(self) -> float:
        return self.samples / max(self.elapsed, 1e-9)

    def eta(self) -> Optional[float]:
        if not self.total or not self.batches:
            return None
        return self.elapsed / self.batches * (self.total - self.batches)


class LineReporter:
    """One plain line each time another ``interval_percent`` of the batches is done, and at the end.

    For logs, CI and pytest: a live bar redraws itself with carriage returns and cursor moves, which a
    file or a pipe records as one garbled line per refresh.
    """

    def __init__(self, stream: TextIO, interval_percent: float) -> None:
        self.stream = stream
        self.interval_percent = interval_percent
        self.label = ''
        self._last_step = 0

    def start(self, label: str, state: ProgressState) -> None:
        self.label = label
        self._last_step = 0

    def update(self, state: ProgressState) -> None:
        if not state.total:
            return  # no total to take percentages of: only the final line
        step = int(100 * state.batches / state.total // self.interval_percent)
        if step > self._last_step or state.batches == state.total:
            self._last_step = step
            self._print(state)

    def finish(self, state: ProgressState) -> None:
        if not state.total or state.batches < state.total:  # the last update printed it otherwise
            self._print(state)

    def _print(self, state: ProgressState) -> None:
        of_total = f'/{state.total}' if state.total else ''
        percent = f' {100 * state.batches / state.total:3.0f}%' if state.total else ''
        eta = state.eta()
        eta = f', ETA {format_duration(eta)}' if eta is not None and state.batches < (state.total or 0) else ''
        print(f'{self.label}{percent} {state.batches}{of_total} batches, {state.samples_per_second():.1f} '
              f'samples/s, elapsed {format_duration(state.elapsed)}{eta}', file=self.stream, flush=True)


class RichBarReporter:
    """A live ``rich`` progress bar, for an interactive terminal."""

    def __init__(self, stream: TextIO, force_terminal: Optional[bool] = None) -> None:
        from rich.console import Console
        self.console = Console(file=stream, force_terminal=force_terminal)
        self._progress = None

    def start(self, label: str, state: ProgressState) -> None:
        from rich import progress
        self._progress = progress.Progress(
            progress.TextColumn('{task.description}'), progress.BarColumn(), progress.MofNCompleteColumn(),
            progress.TextColumn('{task.fields[rate]} samples/s'), progress.TimeElapsedColumn(),
            progress.TextColumn('ETA'), progress.TimeRemainingColumn(), console=self.console)
        self._task = self._progress.add_task(label, total=state.total, rate='-')
        self._progress.start()

    def update(self, state: ProgressState) -> None:
        self._progress.update(self._task, completed=state.batches, rate=f'{state.samples_per_second():.1f}')

    def finish(self, state: ProgressState) -> None:
        self.update(state)
        self._progress.stop()  # leaves the final bar on screen, and gives the terminal back
        self._progress = None


def rich_available() -> bool:
    return importlib.util.find_spec('rich') is not None


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, 'isatty', None)
    return bool(isatty and isatty())


@HOOKS.register_module()
class EvalProgressHook(Hook):
    """Shows the progress of every validation and test loop on rank 0: batches done / total (rank 0's
    share of the data in a distributed run), samples/s and an ETA.

    Args:
        bar: True for a live ``rich`` bar, False for plain lines; None (default) picks the bar when the
            stream is an interactive terminal and ``rich`` is installed, plain lines otherwise (log files,
            CI, pytest), so that redraws never end up in a log.
        interval_percent: in plain-line mode, one line each time this share of the batches is done.
        stream: where to write; None means ``sys.stdout`` at the time of the loop (not at construction,
            so that a redirected or captured stdout is honoured).

    Other ranks show nothing. Tools add this hook to ``custom_hooks`` (tools/test.py, unless
    ``--no-progress``).
    """

    priority = 'VERY_LOW'  # after the hooks that time or log the iteration

    def __init__(self, bar: Optional[bool] = None, interval_percent: float = 10.0,
                 stream: Optional[TextIO] = None) -> None:
        if not 0 < interval_percent <= 100:
            raise ValueError(f'EvalProgressHook: interval_percent must be in (0, 100], got {interval_percent}')
        if bar and not rich_available():
            raise ImportError('EvalProgressHook(bar=True) needs the rich package (pip install rich)')
        self.bar = bar
        self.interval_percent = interval_percent
        self.stream = stream
        self._reporter = None
        self._state: Optional[ProgressState] = None

    # ---------------------------------------------------------------------------------- reporters

    def _make_reporter(self, stream: TextIO):
        use_bar = self.bar if self.bar is not None else (is_terminal(stream) and rich_available())
        if use_bar:
            # An explicit bar=True draws even into a non-terminal stream (tests, or a user who wants it).
            return RichBarReporter(stream, force_terminal=True if self.bar else None)
        return LineReporter(stream, self.interval_percent)

    def _start(self, runner, loop_name: str) -> None:
        self._reporter = self._state = None
        if get_rank() != 0:
            return
        loader = getattr(runner, f'{loop_name}_loop').dataloader
        try:
            total = len(loader)
        except TypeError:  # an iterable dataset without a length
            total = None
        self._state = ProgressState(total)
        self._reporter = self._make_reporter(self.stream or sys.stdout)
        self._reporter.start(loop_name.capitalize(), self._state)

    def _advance(self, data_batch) -> None:
        if self._reporter is None:
            return
        self._state.advance(batch_size_of(data_batch))
        self._reporter.update(self._state)
        if self._state.batches == self._state.total:
            # Done now rather than after the epoch: the metric computation that follows is not batches,
            # and a live bar should not sit there while the evaluator logs its results.
            self._finish()

    def _finish(self) -> None:
        if self._reporter is None:
            return
        self._reporter.finish(self._state)
        self._reporter = None

    # ---------------------------------------------------------------------------------- hook events

    def before_val_epoch(self, runner) -> None:
        self._start(runner, 'val')

    def before_test_epoch(self, runner) -> None:
        self._start(runner, 'test')

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._advance(data_batch)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._advance(data_batch)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._finish()

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._finish()

    @property
    def batches_done(self) -> int:
        """Batches counted in the current (or last) loop on this rank; 0 on other ranks."""
        return self._state.batches if self._state is not None else 0
