"""EvalProgressHook counts the batches of an evaluation loop and reports them on rank 0 only."""
import io
import re
import shutil
import tempfile
from types import SimpleNamespace

import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from zerovl.engine.hooks import EvalProgressHook, eval_progress_hook


def fake_runner(num_batches: int):
    loader = list(range(num_batches))
    return SimpleNamespace(test_loop=SimpleNamespace(dataloader=loader),
                           val_loop=SimpleNamespace(dataloader=loader))


def batch(size: int) -> dict:
    return dict(inputs=dict(images=torch.zeros(size, 3, 2, 2)), data_samples=[{}] * size)


def run_test_loop(hook, runner, sizes):
    hook.before_test_epoch(runner)
    for index, size in enumerate(sizes):
        hook.after_test_iter(runner, index, batch(size))
    hook.after_test_epoch(runner, metrics={})


class ToyModel(BaseModel):
    """Predicts nothing: each sample comes back as its own data sample."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))  # the Runner wants parameters to place

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return [dict(index=index) for index in data_samples]


class CountMetric(BaseMetric):
    def process(self, data_batch, data_samples):
        self.results.extend(data_samples)

    def compute_metrics(self, results):
        return dict(samples=len(results))


class ToyDataset(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, index):
        return dict(inputs=torch.tensor([float(index)]), data_samples=index)  # collated to lists


def test_a_tiny_test_run_counts_every_batch():
    """A real Runner test loop: 10 samples in batches of 3 -> 4 batches, the last one of 1 sample,
    reported as plain lines because the stream is no terminal."""
    work_dir = tempfile.mkdtemp(prefix='zv')
    stream = io.StringIO()
    hook = EvalProgressHook(stream=stream, interval_percent=50)
    try:
        # default_scope='zerovl': the Runner makes its scope current, and later tests expect zerovl's.
        runner = Runner(model=ToyModel(), work_dir=work_dir, custom_hooks=[hook], default_scope='zerovl',
                        test_cfg=dict(),
                        test_dataloader=dict(dataset=ToyDataset(), batch_size=3, num_workers=0,
                                             sampler=dict(type='DefaultSampler', shuffle=False)),
                        test_evaluator=[CountMetric()], default_hooks=dict(logger=None, checkpoint=None))
        metrics = runner.test()
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    assert metrics == dict(samples=10)
    assert hook.batches_done == len(runner.test_dataloader) == 4 and hook._state.samples == 10
    lines = stream.getvalue().splitlines()
    # 50 % steps over 4 batches: at batch 2 (50 %) and batch 4 (100 %).
    assert [re.search(r' (\d+)/4 batches', line).group(1) for line in lines] == ['2', '4']
    assert lines[-1].startswith('Test 100% 4/4 batches, ') and 'samples/s' in lines[-1]
    assert 'ETA' in lines[0] and 'ETA' not in lines[-1]
    assert '\r' not in stream.getvalue() and '\x1b' not in stream.getvalue()  # nothing a log would garble


def test_other_ranks_print_nothing(monkeypatch):
    monkeypatch.setattr(eval_progress_hook, 'get_rank', lambda: 1)
    stream = io.StringIO()
    hook = EvalProgressHook(stream=stream)
    run_test_loop(hook, fake_runner(4), [8, 8, 8, 8])
    assert stream.getvalue() == '' and hook.batches_done == 0


def test_lines_every_interval_and_samples_counted():
    stream = io.StringIO()
    hook = EvalProgressHook(stream=stream, interval_percent=25)
    run_test_loop(hook, fake_runner(8), [4] * 7 + [2])
    lines = stream.getvalue().splitlines()
    assert [re.search(r' (\d+)/8 batches', line).group(1) for line in lines] == ['2', '4', '6', '8']
    assert hook._state.samples == 30


def test_validation_loop_is_reported_too():
    stream = io.StringIO()
    hook = EvalProgressHook(stream=stream, interval_percent=100)
    runner = fake_runner(2)
    hook.before_val_epoch(runner)
    hook.after_val_iter(runner, 0, batch(3))
    hook.after_val_iter(runner, 1, batch(3))
    hook.after_val_epoch(runner, metrics={})
    assert stream.getvalue().startswith('Val 100% 2/2 batches')


def test_a_loop_cut_short_still_ends_with_a_line():
    stream = io.StringIO()
    hook = EvalProgressHook(stream=stream, interval_percent=100)
    run_test_loop(hook, fake_runner(4), [8])
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and ' 1/4 batches' in lines[0]


def test_forced_bar_draws_with_rich():
    pytest.importorskip('rich')
    stream = io.StringIO()
    hook = EvalProgressHook(stream=stream, bar=True)
    run_test_loop(hook, fake_runner(3), [5, 5, 5])
    assert '3/3' in stream.getvalue() and 'samples/s' in stream.getvalue()


def test_auto_mode_uses_plain_lines_off_a_terminal():
    hook = EvalProgressHook()
    assert isinstance(hook._make_reporter(io.StringIO()), eval_progress_hook.LineReporter)


def test_bad_interval_is_refused():
    with pytest.raises(ValueError, match='interval_percent'):
        EvalProgressHook(interval_percent=0)
