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
    """The ratios the issues set targets for; a ratio needs both of its rows. The open_clip throughput and
    MFU targets are for one H200-class GPU (ViT-B/16 + BERT-base, 4096 in 8 x 512); on a CPU they are
    printed for the record, not as a verdict on the CPU."""
    def ratio(numerator, denominator, key):
        a, b = results.get(numerator, {}), results.get(denominator, {})
        return a[key] / b[key] if key in a and key in b and b[key] > 0 else None

    k = sub_batches
    best_mfu = results.get('plain_sub_best', {}).get('mfu')
    specs = [
        ('Runner vs bare loop: throughput', ratio('bare', 'runner', 'median_s'), '>=', 0.95, 'x'),
        (f'DGA ({k} sub-batches) vs plain step, same batch: time', ratio('dga', 'plain', 'median_s'), '<=', 1.35,
         'x'),
        ('DGA vs plain step on one sub-batch: peak memory above baseline',
         ratio('dga', 'plain_sub', 'increment_bytes'), '<=', 1.3, 'x'),
        (f'DGA vs open_clip accum-freq {k}, both with their defaults: throughput (GPU target)',
         ratio('open_clip', 'dga', 'median_s'), '>=', 1.2, 'x'),
        (f'DGA vs open_clip accum-freq {k}, both with their best flags: throughput (GPU target)',
         ratio('open_clip_best', 'dga_best', 'median_s'), '>=', 1.0, 'x'),
        (f'DGA vs open_clip accum-freq {k}: peak memory above baseline',
         ratio('dga', 'open_clip', 'increment_bytes'), '<=', 1.0, 'x'),
        ('plain step on one sub-batch, best flags: MFU (GPU target)', best_mfu, '>=', 0.45, '%'),
    ]
    rows = []
    for name, value, sense, target, unit in specs:
        met = None if value is None else (value >= target if sense == '>=' else value <= target)
        shown = f'{target * 100:.0f} %' if unit == '%' else f'{target:.2f}x'
        rows.append(dict(comparison=name, ratio=value, target=f'{SYMBOLS[sense]} {shown}', met=met, unit=unit))
    return rows


def verdict_lines(rows: List[dict]) -> List[str]:
    """One PASS/FAIL/N/A line per target, for a log to grep."""
    return [f"{'N/A' if row['met'] is None else 'PASS' if row['met'] else 'FAIL'}: {row['comparison']}: "
            f"{format_value(row)} (target {row['target']})" for row in rows]


def format_value(row: dict) -> str:
    if row['ratio'] is None:
        return '–'
    return f"{row['ratio'] * 100:.1f} %" if row.get('unit') == '%' else f"{row['ratio']:.2f}x"


def mib(num_bytes: float) -> str:
    return f'{num_bytes / 2 ** 20:.0f} MiB'


def utilisation_cells(result: dict) -> str:
    tflops = result.get('model_tflops_per_s')
    mfu = result.get('mfu')
    return (f"{'–' if tflops is None else f'{tflops:.3g}'} | "
            f"{'n/a' if mfu is None else f'{mfu * 100:.1f} %'} |")


def rows_table(results: Dict[str, dict], settings: Settings, memory: str, cpu_column: bool) -> str:
    """One line per row; on CPU also the process CPU time per step (see StepClock)."""
    cpu_head, cpu_rule = (' CPU time / step |', '---:|') if cpu_column else ('', '')
    lines = [f'| row | flags | batch | median step |{cpu_head} samples/s | model TFLOP/s | MFU | {memory} | '
             'above model-built baseline |',
             f'|---|---|---:|---:|{cpu_rule}---:|---:|---:|---:|---:|']
    for row, result in results.items():
        label = ROW_SPECS[row].label
        if ROW_SPECS[row].dga or ROW_SPECS[row].open_clip:
            label += f' ({settings.sub_batches} × {settings.sub_batch_size})'
        if 'median_s' not in result:
            status = 'skipped' if 'skipped' in result else 'failed'
            dashes = ' – |' * (8 if cpu_column else 7)
            lines.append(f'| {label} | {status}: {result[status]} |{dashes}')
            continue
        cpu = f" {result['median_cpu_s']:.3f} s |" if cpu_column else ''
        lines.append(f"| {label} | {result.get('flags', '–')} | {result['batch_size']} | {result['median_s']:.3f} s |"
                     f"{cpu} {result['batch_size'] / result['median_s']:.1f} | {utilisation_cells(result)} "
                     f"{mib(result['peak_bytes'])} | {mib(result['increment_bytes'])} |")
    return '\n'.join(lines)


def comparisons_table(rows: List[dict]) -> str:
    lines = ['| comparison | measured | target | met |', '|---|---:|---:|---|']
    for row in rows:
        met = 'n/a' if row['met'] is None else ('yes' if row['met'] else 'no')
        lines.append(f"| {row['comparison']} | {format_value(row)} | {row['target']} | {met} |")
    return '\n'.join(lines)


def flops_line(flops: Optional[dict], peak) -> str:
    if not flops or 'flops_per_sample' not in flops:
        return f'Model FLOPs: not counted ({flops}).'
    peak_text = f'{peak.tflops:g} TFLOP/s ({peak.source})' if peak.tflops else peak.source
    return (f"Model FLOPs: {flops['flops_per_sample'] / 1e9:.4g} GFLOP per sample (matrix products of one forward "
            f"+ backward of towers, projections and loss, counted at batch {flops['counted_batch']}); "
            f'peak for MFU: {peak_text}.')


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
           load_at_start: float, flops: Optional[dict] = None, peak=None) -> str:
    memory = 'peak allocated (CUDA)' if args.device == 'cuda' else 'peak RSS'
    towers = args.image_model or args.towers
    precision = {'fp32': 'fp32', 'amp': 'AMP fp16 + GradScaler' if args.device == 'cuda' else 'AMP bf16',
                 'amp_bf16': 'AMP bf16'}
    warning = load_warning(load_at_start, os.getloadavg()[0], args.threads) if args.device == 'cpu' else None
    return '\n'.join([
        f'Machine: {machine(args, load_at_start)}', *([warning] if warning else []), f'Command: `{command}`',
        f'Towers: {towers} ({settings.image_size} px, embedding {settings.model["embed_dim"]}); global batch '
        f'{settings.batch_size}, {settings.sub_batches} sub-batches of {settings.sub_batch_size}; '
        f'{precision[args.precision]} (rows with best flags: see their flags); AdamW; '
        f'median of {args.steps * args.repeats} timed steps '
        f'({args.repeats} round(s) of {args.steps}, each after {args.warmup} warm-up); one fresh process per row '
        'and round.',
        check_line(check), flops_line(flops, peak), '',
        rows_table(results, settings, memory, cpu_column=args.device == 'cpu'), '', comparisons_table(ratios), '',
        *verdict_lines(ratios)])


