"""tools/benchmarks/benchmark_train.py end to end, at a toy size, and its reporting pieces."""
import json
import math
import sys

import pytest

from zerovl.testing import load_script as load_script_at

SCRIPT = 'tools/benchmarks/benchmark_train.py'
OPEN_CLIP_PIN = 'open_clip_torch==3.3.0'  # requirements/benchmark.txt
TINY = ['--towers', 'tiny', '--batch-size', '16', '--sub-batches', '4', '--warmup', '1', '--steps', '2',
        '--threads', '1']


def load_script():
    """Imported under its file name, and registered: the row processes unpickle its functions by it."""
    return load_script_at(SCRIPT, register=True)


@pytest.fixture(scope='module')
def benchmark():
    return load_script()


@pytest.fixture(scope='module')
def report(benchmark):
    """The report module the script is split into (its folder is on the path once the script loaded)."""
    import train_step_report
    return train_step_report


@pytest.fixture(scope='module')
def tiny_run(benchmark, tmp_path_factory):
    """One run of every row and of the same-math check (each in its own process): ~20 s on 2 idle cores."""
    out = tmp_path_factory.mktemp('benchmark') / 'results.json'
    result = benchmark.main([*TINY, '--out', str(out)])
    return result, json.loads(out.read_text())


def open_clip_missing(benchmark):
    return benchmark.missing_package('open_clip')


@pytest.mark.timeout(120)
def test_every_row_is_reported(benchmark, tiny_run, capsys):
    result, saved = tiny_run
    assert list(result['rows']) == list(benchmark.ROWS)
    for row, measured in result['rows'].items():
        if row == 'open_clip' and open_clip_missing(benchmark):
            assert 'not installed' in measured['skipped']
            continue
        assert len(measured['step_times']) == 2 and measured['median_s'] > 0, row
        assert measured['threads'] == 1, row
        assert measured['peak_bytes'] >= measured['baseline_bytes'] > 0, row
    assert result['rows']['plain_sub']['batch_size'] == 4 and result['rows']['dga']['batch_size'] == 16
    for label in (spec.label for spec in benchmark.ROW_SPECS.values()):
        assert f'| {label}' in result['markdown']
    assert 'torch threads 1' in result['markdown'] and '--batch-size 16' in result['markdown']
    assert saved['markdown'] == result['markdown'] and saved['rows'].keys() == result['rows'].keys()


def test_ratios_are_finite_and_positive(benchmark, tiny_run):
    result, _ = tiny_run
    for comparison in result['comparisons']:
        if 'open_clip' in comparison['comparison'] and open_clip_missing(benchmark):
            assert comparison['ratio'] is None and comparison['met'] is None
            continue
        assert math.isfinite(comparison['ratio']) and comparison['ratio'] > 0, comparison
        assert comparison['met'] in (True, False)


def test_runner_plain_and_dga_make_the_bare_loops_update(tiny_run):
    """One float64 step: the rows train the same math, so their timings are comparable."""
    check = tiny_run[0]['same_math']
    for row in ('runner', 'plain'):  # the same operations in the same order
        assert check[row]['grad'] < 1e-12 and check[row]['update'] < 1e-12, (row, check[row])
    # DGA sums the gradient over sub-batches: float64 rounding only. AdamW's first update divides by
    # |grad|, which magnifies that rounding where a gradient is near zero.
    assert check['dga']['grad'] < 1e-10 and check['dga']['update'] < 1e-8, check['dga']


def test_open_clip_accum_freq_makes_the_same_update(benchmark, tiny_run):
    missing = open_clip_missing(benchmark)
    if missing:
        pytest.skip(f'{missing} is not installed: pip install {OPEN_CLIP_PIN}')
    check = tiny_run[0]['same_math']['open_clip']
    assert check['grad'] < 1e-10 and check['update'] < 1e-8, check


def test_a_missing_package_skips_its_row_and_names_it(benchmark, report, monkeypatch):
    monkeypatch.setitem(sys.modules, 'open_clip', None)  # import open_clip now fails as if not installed
    assert benchmark.missing_package('open_clip') == 'open_clip'
    assert benchmark.missing_package('dga') is None
    args = benchmark.parse_args(TINY)
    settings = benchmark.benchmark_settings(args)
    skipped = dict(row='open_clip', skipped='open_clip is not installed (pip install open_clip_torch==3.3.0)')
    for cpu_column in (True, False):
        table = report.rows_table(dict(open_clip=skipped), settings, 'peak RSS', cpu_column=cpu_column)
        assert 'skipped: open_clip is not installed' in table
        assert len({line.count('|') for line in table.splitlines()}) == 1  # every line has every cell
    ratios = benchmark.comparisons(dict(open_clip=skipped), settings.sub_batches)
    assert all(row['ratio'] is None for row in ratios)
    assert '| n/a |' in report.comparisons_table(ratios)


def test_arguments_are_checked(benchmark):
    with pytest.raises(SystemExit):
        benchmark.parse_args(['--batch-size', '10', '--sub-batches', '4'])
    with pytest.raises(SystemExit):
        benchmark.parse_args(['--warmup', '0'])


def test_rounds_pool_their_steps_and_keep_the_median_rounds_memory(benchmark):
    def run(times, increment):
        return dict(row='dga', batch_size=16, step_times=times, median_s=0.0, cpu_step_times=times,
                    median_cpu_s=0.0, peak_bytes=increment + 10, baseline_bytes=10, increment_bytes=increment)

    pooled = benchmark.pool_repeats([run([1.0, 5.0], 300), run([2.0, 3.0], 100), run([4.0, 9.0], 200)])
    assert pooled['step_times'] == [1.0, 5.0, 2.0, 3.0, 4.0, 9.0] and pooled['median_s'] == 3.5
    assert pooled['increment_bytes'] == 200 and pooled['rounds'] == 3
    skipped = dict(row='open_clip', skipped='open_clip is not installed')
    assert benchmark.pool_repeats([skipped, skipped]) == skipped
