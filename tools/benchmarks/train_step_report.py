"""benchmark_train.py's report: ratios between rows against their targets, the tables and the machine line."""
import importlib.util
import os
from typing import Dict, List, Optional

import torch

from train_step_rows import ROW_SPECS
from train_step_setup import CHECK, Settings

from zerovl.utils.benchmarking import describe_machine

# ------------------------------------------------------------------------------------------ report

SYMBOLS = {'>=': '≥', '<=': '≤'}


def comparisons(results: Dict[str, dict], sub_batches: int) -> List[dict]:
    """The ratios the issue sets targets for; a ratio needs both of its rows."""
    def ratio(numerator, denominator, key):
        a, b = results.get(numerator, {}), results.get(denominator, {})
        return a[key] / b[key] if key in a and key in b and b[key] > 0 else None

    k = sub_batches
    specs = [
        ('Runner vs bare loop: throughput', ratio('bare', 'runner', 'median_s'), '>=', 0.95),
        (f'DGA ({k} sub-batches) vs plain step, same batch: time', ratio('dga', 'plain', 'median_s'), '<=', 1.35),
        ('DGA vs plain step on one sub-batch: peak memory above baseline',
         ratio('dga', 'plain_sub', 'increment_bytes'), '<=', 1.3),
        (f'DGA vs open_clip accum-freq {k}: time', ratio('dga', 'open_clip', 'median_s'), '<=', 1.0),
        (f'DGA vs open_clip accum-freq {k}: peak memory above baseline',
         ratio('dga', 'open_clip', 'increment_bytes'), '<=', 1.0),
    ]
    rows = []
    for name, value, sense, target in specs:
        met = None if value is None else (value >= target if sense == '>=' else value <= target)
        rows.append(dict(comparison=name, ratio=value, target=f'{SYMBOLS[sense]} {target:.2f}x', met=met))
    return rows


def mib(num_bytes: float) -> str:
    return f'{num_bytes / 2 ** 20:.0f} MiB'


def rows_table(results: Dict[str, dict], settings: Settings, memory: str, cpu_column: bool) -> str:
    """One line per row; on CPU also the process CPU time per step (see StepClock)."""
    cpu_head, cpu_rule = (' CPU time / step |', '---:|') if cpu_column else ('', '')
    lines = [f'| row | batch | median step |{cpu_head} samples/s | {memory} | above model-built baseline |',
             f'|---|---:|---:|{cpu_rule}---:|---:|---:|']
    for row, result in results.items():
        label = ROW_SPECS[row].label
        if row in ('dga', 'open_clip'):
            label += f' ({settings.sub_batches} × {settings.sub_batch_size})'
        if 'median_s' not in result:
            status = 'skipped' if 'skipped' in result else 'failed'
            dashes = ' – |' * (4 if cpu_column else 3)
            lines.append(f'| {label} | – | {status}: {result[status]} |{dashes}')
            continue
        cpu = f" {result['median_cpu_s']:.3f} s |" if cpu_column else ''
        lines.append(f"| {label} | {result['batch_size']} | {result['median_s']:.3f} s |{cpu} "
                     f"{result['batch_size'] / result['median_s']:.1f} | {mib(result['peak_bytes'])} | "
                     f"{mib(result['increment_bytes'])} |")
    return '\n'.join(lines)


def comparisons_table(rows: List[dict]) -> str:
    lines = ['| comparison | measured | target | met |', '|---|---:|---:|---|']
    for row in rows:
        value = '–' if row['ratio'] is None else f"{row['ratio']:.2f}x"
        met = 'n/a' if row['met'] is None else ('yes' if row['met'] else 'no')
        lines.append(f"| {row['comparison']} | {value} | {row['target']} | {met} |")
    return '\n'.join(lines)


def check_line(check: Optional[dict]) -> str:
    if check is None:
        return 'Same-math check: skipped (--no-check).'
    if 'failed' in check:
        return f"Same-math check: failed: {check['failed']}"
    parts = [f"{row}: {value['skipped']}" if 'skipped' in value else
             f"{row} {value['grad']:.1e} / {value['update']:.1e}" for row, value in check.items()]
    sub_batches = CHECK['batch_size'] // CHECK['sub_batch_size']
    return (f"Same-math check (one float64 step, {CHECK['towers']} LayerNorm towers, batch {CHECK['batch_size']} "
            f'in {sub_batches} sub-batches; max |Δ| relative to the bare loop, gradient / update): '
            + '; '.join(parts) + '.')


def machine(args, load_at_start: float) -> str:
    versions = {}
    for package in ('mmengine', 'timm', 'transformers', 'open_clip'):
        if importlib.util.find_spec(package) is not None:
            versions[package] = __import__(package).__version__
    device = torch.cuda.get_device_name() if args.device == 'cuda' else 'CPU'
    return (f'{describe_machine(versions)}; device {device}; torch threads {args.threads}; '
            f'load average {load_at_start:.1f} at start, {os.getloadavg()[0]:.1f} at end')


def load_warning(load_at_start: float, load_at_end: float, threads: int) -> Optional[str]:
    """Other processes on the cores make threads wait for each other: with 2 threads on a loaded 2-core
    machine a batch-32 step took 10x longer than with 1 (measured), and small batches suffer most.
    At the end, the last row's own threads are part of the load average; the rest is other work."""
    cores = len(os.sched_getaffinity(0))
    others = max(load_at_start, load_at_end - threads)
    if others + threads <= cores + 0.5:
        return None
    return (f'**Loaded machine**: load average {load_at_start:.1f} before and {load_at_end:.1f} after the run, '
            f'on {cores} cores. Timings are noisy and, with more threads than idle cores, inflated; on a '
            'shared machine use --threads 1 and compare CPU times.')


def report(args, command: str, settings: Settings, results: Dict[str, dict], check, ratios,
           load_at_start: float) -> str:
    memory = 'peak allocated (CUDA)' if args.device == 'cuda' else 'peak RSS'
    towers = args.image_model or args.towers
    precision = {'fp32': 'fp32', 'amp': 'AMP fp16 + GradScaler' if args.device == 'cuda' else 'AMP bf16'}
    warning = load_warning(load_at_start, os.getloadavg()[0], args.threads) if args.device == 'cpu' else None
    return '\n'.join([
        f'Machine: {machine(args, load_at_start)}', *([warning] if warning else []), f'Command: `{command}`',
        f'Towers: {towers} ({settings.image_size} px, embedding {settings.model["embed_dim"]}); global batch '
        f'{settings.batch_size}, {settings.sub_batches} sub-batches of {settings.sub_batch_size}; '
        f'{precision[args.precision]}; AdamW; median of {args.steps * args.repeats} timed steps '
        f'({args.repeats} round(s) of {args.steps}, each after {args.warmup} warm-up); one fresh process per row '
        'and round.',
        check_line(check), '', rows_table(results, settings, memory, cpu_column=args.device == 'cpu'), '',
        comparisons_table(ratios)])


