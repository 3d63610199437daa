"""tools/benchmarks/benchmark_train.py end to end, at a toy size, and its reporting pieces."""
import json
import math
import sys

import pytest

from zerovl.testing import load_script as load_script_at

SCRIPT = 'tools/benchmarks/benchmark_train.py'
OPEN_CLIP_PIN = 'open_clip_torch==3.3.0'  # requirements/benchmark.txt
# aot_eager: the best-flag rows compile without code generation (inductor's C++ build takes minutes here);
# a made-up peak so that the MFU column is computed on the CPU too.
TINY = ['--towers', 'tiny', '--batch-size', '16', '--sub-batches', '4', '--warmup', '1', '--steps', '2',
        '--threads', '1', '--compile-backend', 'aot_eager', '--peak-tflops', '0.5']
BEST_ROWS = ('dga_best', 'plain_sub_best', 'open_clip_best')
# plain_sub_best is left out of the end-to-end run: it is dga_best's loop and switches at the sub-batch
# (test_best_flags_compile_our_towers_and_not_open_clips), and each compiled row costs a compilation.
RUN_ROWS = ['bare', 'runner', 'plain', 'dga', 'plain_sub', 'open_clip', 'dga_best', 'open_clip_best']


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
    """One run of the rows and of the same-math check (each in its own process), most of it compiling the
    two best-flag rows and their two same-math steps: about 6 min on this 2-core machine shared with other
    jobs (load average 10), far less on idle cores."""
    out = tmp_path_factory.mktemp('benchmark') / 'results.json'
    result = benchmark.main([*TINY, '--rows', *RUN_ROWS, '--out', str(out)])
    return result, json.loads(out.read_text())


def open_clip_missing(benchmark):
    return benchmark.missing_package('open_clip')


@pytest.mark.timeout(900)
def test_every_row_is_reported(benchmark, tiny_run, capsys):
    result, saved = tiny_run
    assert list(result['rows']) == RUN_ROWS
    for row, measured in result['rows'].items():
        if row.startswith('open_clip') and open_clip_missing(benchmark):
            assert 'not installed' in measured['skipped']
            continue
        assert len(measured['step_times']) == 2 and measured['median_s'] > 0, row
        assert measured['threads'] == 1, row
        assert measured['peak_bytes'] >= measured['baseline_bytes'] > 0, row
        # MFU = model FLOPs x samples/s over the (here made-up) peak, in every measured row
        achieved = result['flops']['flops_per_sample'] * measured['batch_size'] / measured['median_s']
        assert measured['model_tflops_per_s'] == pytest.approx(achieved / 1e12)
        assert measured['mfu'] == pytest.approx(achieved / 0.5e12)
        compiled = 'compiled (aot_eager)' in measured['flags']
        assert compiled == (row in BEST_ROWS), (row, measured['flags'])
    assert result['rows']['plain_sub']['batch_size'] == 4 and result['rows']['dga']['batch_size'] == 16
    assert 'fused AdamW' in result['rows']['dga_best']['flags']
    assert 'fused AdamW' not in result['rows'].get('open_clip_best', {}).get('flags', '')  # open_clip's own AdamW
    assert result['peak'] == dict(tflops=0.5, source='--peak-tflops')
    assert 'PASS: ' in result['markdown'] or 'FAIL: ' in result['markdown']
    for label in (benchmark.ROW_SPECS[row].label for row in RUN_ROWS):
        assert f'| {label}' in result['markdown']
    assert 'torch threads 1' in result['markdown'] and '--batch-size 16' in result['markdown']
    assert saved['markdown'] == result['markdown'] and saved['rows'].keys() == result['rows'].keys()


def test_ratios_are_finite_and_positive(benchmark, tiny_run):
    result, _ = tiny_run
    for comparison in result['comparisons']:
        if comparison['comparison'].startswith('plain step on one sub-batch, best flags'):
            assert comparison['ratio'] is None  # plain_sub_best is not in this run
            continue
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
    for row in ('open_clip', 'open_clip_best'):  # open_clip_best: its model torch.compile'd, as --torchcompile
        check = tiny_run[0]['same_math'][row]
        assert check['grad'] < 1e-10 and check['update'] < 1e-8, (row, check)


def test_compiled_towers_make_the_bare_loops_update(tiny_run):
    """dga_best in float64: our towers compiled (aot_eager) and fused AdamW; bf16 is left to gpu_check."""
    check = tiny_run[0]['same_math']['dga_best']
    assert check['grad'] < 1e-10 and check['update'] < 1e-8, check


def test_best_flags_compile_our_towers_and_not_open_clips(benchmark):
    """The best-flag settings reach the model: ours compiles both towers in place; open_clip's rows leave
    the towers alone (its --torchcompile wraps the whole model in its loop)."""
    settings = benchmark.ROW_SPECS['dga_best'].settings(benchmark.benchmark_settings(benchmark.parse_args(TINY)))
    assert settings.compile and settings.fused_adamw and settings.compile_backend == 'aot_eager'
    from zerovl.utils import register_all_modules
    register_all_modules()
    ours = benchmark.build_model(settings)
    assert ours.image_tower.model._compiled_call_impl is not None
    assert ours.text_tower.model._compiled_call_impl is not None
    theirs = benchmark.build_model(benchmark.ROW_SPECS['open_clip_best'].settings(settings), open_clip=True)
    assert theirs.image_tower.model._compiled_call_impl is None
    plain = benchmark.ROW_SPECS['dga'].settings(benchmark.benchmark_settings(benchmark.parse_args(TINY)))
    assert not plain.compile and not plain.fused_adamw
    sub = benchmark.ROW_SPECS['plain_sub_best'].settings(benchmark.benchmark_settings(benchmark.parse_args(TINY)))
    assert sub.compile and sub.fused_adamw and sub.batch_size == 4  # one sub-batch of 16 / 4


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
    assert all(line.startswith('N/A: ') for line in report.verdict_lines(ratios))


def test_targets_read_as_pass_or_fail(report):
    results = dict(dga=dict(median_s=1.0, increment_bytes=10), open_clip=dict(median_s=1.3, increment_bytes=10),
                   dga_best=dict(median_s=1.0), open_clip_best=dict(median_s=0.9),
                   plain_sub_best=dict(mfu=0.46))
    rows = {row['comparison'].split(':')[0]: row for row in report.comparisons(results, 8)}
    defaults = rows['DGA vs open_clip accum-freq 8, both with their defaults']
    best = rows['DGA vs open_clip accum-freq 8, both with their best flags']
    assert defaults['ratio'] == pytest.approx(1.3) and defaults['met'] is True  # target >= 1.2x
    assert best['ratio'] == pytest.approx(0.9) and best['met'] is False  # target >= 1.0x
    assert rows['plain step on one sub-batch, best flags']['met'] is True  # 46 % >= 45 %
    lines = report.verdict_lines(report.comparisons(results, 8))
    assert any(line.startswith('FAIL: DGA vs open_clip accum-freq 8, both with their best flags') for line in lines)
    assert any(line.startswith('PASS: plain step on one sub-batch, best flags: MFU') and '46.0 %' in line
               for line in lines)


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
