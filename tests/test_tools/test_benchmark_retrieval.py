"""benchmark_retrieval.py runs end to end at a tiny size, and its three methods agree on the recalls."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from zerovl.testing import load_script as load_script_at

SCRIPT = Path(__file__).resolve().parents[2] / 'tools' / 'benchmarks' / 'benchmark_retrieval.py'


def load_script():
    return load_script_at(SCRIPT)


def test_every_method_runs_and_the_exact_ones_agree(tmp_path):
    bench = load_script()
    out = tmp_path / 'report.md'
    rows = bench.main(['--sizes', '300x1500', '--dim', '32', '--chunk-size', '256', '--threads', '1',
                       '--noise', '2', '--device', 'cpu', '--markdown-out', str(out)])
    by_method = {row['method']: row for row in rows}
    assert sorted(by_method) == ['argsort', 'matmul', 'zerovl']
    assert all(row['device'] == 'cpu' and row['absolute_peak_bytes'] is None for row in rows)
    assert all(row['seconds'] > 0 for row in rows)
    # Mid-range recall: a trivial (perfect or hopeless) case would not exercise the ranking.
    assert 50 < by_method['zerovl']['metrics']['rsum'] < 550
    assert by_method['argsort']['metrics'] == by_method['zerovl']['metrics']
    report = out.read_text()
    assert report.count('| 300x1500 |') == 3 and '| yes |' in report
    assert 'device cpu' in report and 'peak resident set' in report


def test_device_cuda_without_a_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(SystemExit, match='--device cuda: no CUDA device is visible'):
        load_script().main(['--sizes', '10x20', '--dim', '4', '--methods', 'zerovl', '--device', 'cuda'])


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
def test_cuda_rows_report_device_memory_and_the_cpu_recalls(tmp_path):
    bench = load_script()
    common = ['--sizes', '300x1500', '--dim', '32', '--threads', '1', '--noise', '2', '--methods', 'argsort', 'zerovl']
    cuda_rows = bench.main(common + ['--device', 'cuda', '--markdown-out', str(tmp_path / 'cuda.md')])
    cpu_rows = bench.main(common + ['--device', 'cpu'])
    assert all(row['device'] == 'cuda' and row['absolute_peak_bytes'] > row['peak_bytes'] > 0 for row in cuda_rows)
    assert [row['metrics'] for row in cuda_rows] == [row['metrics'] for row in cpu_rows]
    assert 'max_memory_allocated' in (tmp_path / 'cuda.md').read_text()


def test_argsort_beyond_its_memory_limit_is_reported_not_run():
    rows = load_script().main(['--sizes', '100x500', '--dim', '8', '--methods', 'argsort',
                               '--argsort-max-gib', '0.0001'])
    assert rows == [dict(method='argsort', size='100x500', skipped=rows[0]['skipped'])]
    assert 'GiB' in rows[0]['skipped']


PEAK_PROBE = """
import torch
from zerovl.utils.benchmarking import peak_rss_tracker
from zerovl.testing import load_script as load_script_at
before = torch.ones(64 * 2 ** 20 // 4)  # 64 MiB touched before the block: not counted
with peak_rss_tracker() as peak:
    temporary = torch.ones(128 * 2 ** 20 // 4)  # 128 MiB touched inside, then freed
    del temporary
print(peak.bytes)
"""


def test_peak_rss_tracker_sees_a_temporary_allocation_but_not_earlier_ones():
    # In a fresh process, as the benchmarks use it: a long-lived process (this test session) may serve
    # the allocation from memory it already holds, which rightly adds nothing to its peak.
    out = subprocess.run([sys.executable, '-c', PEAK_PROBE], capture_output=True, text=True, check=True)
    peak_bytes = int(out.stdout.strip().splitlines()[-1])
    assert 100 * 2 ** 20 < peak_bytes < 170 * 2 ** 20
