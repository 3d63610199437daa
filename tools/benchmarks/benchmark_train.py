"""Seconds per training step and peak memory: our Runner step, a bare PyTorch loop, DGA, open_clip.

    python tools/benchmarks/benchmark_train.py                      # CPU, the demo's towers
    python tools/benchmarks/benchmark_train.py --device cuda --towers vit-b16-bert-base \
        --batch-size 256 --sub-batches 8 --out results.json           # GPU, AMP fp16

Every row trains the same towers (the demo's by default: timm resnet10t at 64 px + a 2-layer BERT built
from its config, embedding 128; ``--towers``/``--image-model`` for others) from the same random init on
the same synthetic batches, with AdamW and our symmetric InfoNCE loss:

* ``bare``: a plain PyTorch loop over our model's modules (normalise, encode, loss, backward, step);
* ``runner``: ``DualEncoder.train_step`` driven by MMEngine's Runner and the demo's loop and hooks,
  with our optimizer wrapper (no DGA);
* ``plain`` / ``dga``: ``DualEncoder.train_step`` on the global batch, in one piece or with decoupled
  gradient accumulation in ``--sub-batches`` pieces;
* ``plain_sub``: one plain step on a single sub-batch (the memory DGA should stay close to);
* ``open_clip``: open_clip's own ``train_one_epoch`` with ``--accum-freq`` equal to the number of
  sub-batches, driving an open_clip-compatible wrapper around the same towers, so only the
  accumulation procedure differs from ``dga``;
* ``dga_best``, ``plain_sub_best``, ``open_clip_best``: the same with each side's best flags: ours bf16
  autocast without a scaler, compiled towers and fused AdamW; open_clip's ``--precision amp_bf16`` and
  ``--torchcompile``. bf16 only where the device has it natively (else the run's precision stays), so on
  a CPU without bf16 these rows are the compile-on counterparts of the plain ones.

Beside samples/s every row reports its model TFLOP/s and model-FLOP utilisation (MFU): the matrix-product
FLOPs of one forward + backward of the towers per sample (counted on the meta device,
``train_step_flops.py``) times samples/s, over the device's dense bf16/fp16 peak (a table of spec-sheet
figures keyed by the GPU's name, or ``--peak-tflops``; n/a on a CPU unless given).

Every row runs in a fresh process, so peak memory is that row's alone: peak RSS on CPU
(``ru_maxrss``), ``torch.cuda.max_memory_allocated`` on CUDA, reported absolute and above the
process's memory once the model and data are built. Warm-up steps are excluded and the median of the
timed steps is reported. Before the rows, one float64 step of the bare loop, the Runner, ``plain``,
``dga`` and ``open_clip`` on small LayerNorm towers must give the same gradient and parameter update:
the rows are only comparable if they do the same math. When the rows with best flags run, ``dga_best`` and
``open_clip_best`` join the check, compiled (``aot_eager``) in float64; bf16 is not float64 math, and its
agreement with the full-precision gradient is what ``gpu_check.py``'s agreement part measures.
"""
import argparse
import concurrent.futures
import dataclasses
import json
import math
import multiprocessing
import os
import statistics
import sys
from pathlib import Path
from typing import Callable, Dict, List

import torch

# Run from a checkout without installing the package; children started by multiprocessing import this
# file by name (``benchmark_train``) when a test loaded it that way, so its folder is on the path too.
REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_step_setup import (PRELOAD, ROWS, Settings, TOWERS, adamw, benchmark_settings, build_model,  # noqa: E402
                              check_settings, synthetic_batches)
from train_step_rows import ROW_SPECS, StepClock, measure_row, missing_package, prepare_process  # noqa: E402
from train_step_flops import add_utilisation, device_peak, step_flops_per_sample  # noqa: E402
from train_step_report import comparisons, report  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--towers', choices=sorted(TOWERS), default='demo')
    parser.add_argument('--image-model', help='any timm model name, replacing the preset image tower')
    parser.add_argument('--image-size', type=int, help='input side in pixels (default: the preset\'s)')
    parser.add_argument('--caption-length', type=int, default=25, help='tokens per caption, padding included')
    parser.add_argument('--batch-size', type=int, default=512, help='global batch of every row but plain_sub')
    parser.add_argument('--sub-batches', type=int, default=8, help='DGA sub-batches = open_clip --accum-freq')
    parser.add_argument('--warmup', type=int, default=2, help='untimed steps first (at least 1)')
    parser.add_argument('--steps', type=int, default=6, help='timed steps per row (median reported)')
    parser.add_argument('--repeats', type=int, default=1,
                        help='rounds over all rows, interleaved; step times are pooled (median of all)')
    parser.add_argument('--threads', type=int, default=len(os.sched_getaffinity(0)),
                        help='torch intra-op threads, the same in every row (default: all usable cores)')
    parser.add_argument('--device', choices=['cpu', 'cuda'],
                        default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--precision', choices=['auto', 'fp32', 'amp', 'amp_bf16'], default='auto',
                        help='auto: AMP (fp16 + GradScaler) on CUDA, fp32 on CPU; amp on CPU is bf16; amp_bf16: '
                             'bf16 autocast without a scaler (the *_best rows use it where bf16 is native)')
    parser.add_argument('--compile-backend', default='inductor',
                        help='torch.compile backend of the *_best rows (aot_eager: no code generation, for tests)')
    parser.add_argument('--peak-tflops', type=float,
                        help="the device's peak TFLOP/s for MFU (default: the table's dense bf16/fp16 figure for "
                             'a known GPU; none on CPU, where MFU is then n/a)')
    parser.add_argument('--rows', nargs='+', choices=ROWS, default=list(ROWS))
    parser.add_argument('--no-check', action='store_true', help='skip the float64 same-math check')
    parser.add_argument('--out', help='also write every measurement, the table and the setup as JSON here')
    args = parser.parse_args(argv)
    if args.batch_size % args.sub_batches:
        parser.error(f'--sub-batches {args.sub_batches} must divide --batch-size {args.batch_size}')
    if args.warmup < 1 or args.steps < 1 or args.repeats < 1:
        parser.error('--warmup, --steps and --repeats must be at least 1 (the first step starts the clock)')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device is visible to torch')
    if args.precision == 'auto':
        args.precision = 'amp' if args.device == 'cuda' else 'fp32'
    return args


# ------------------------------------------------------------------------------------------ same math

def one_step(row: str, settings: Settings) -> dict:
    """Gradient (at the optimizer step) and parameter update of one float64 step of ``row``."""
    spec = ROW_SPECS[row]
    settings = spec.settings(settings, same_math=True)
    model = build_model(settings, dga=spec.dga, open_clip=spec.open_clip).double()
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    optimizer = adamw(model, settings)
    grads = {}
    optimizer.register_step_pre_hook(
        lambda *_: grads.update({name: p.grad.detach().clone() for name, p in named if p.grad is not None}))
    before = {name: p.detach().clone() for name, p in named}
    spec.harness(model, synthetic_batches(settings, 1, seed=7), optimizer, settings, StepClock(settings.device))
    return dict(grads=grads, updates={name: p.detach() - before[name] for name, p in named})


def relative_difference(actual: Dict[str, torch.Tensor], expected: Dict[str, torch.Tensor]) -> float:
    """max |actual - expected| over every parameter, relative to the largest |expected|."""
    if actual.keys() != expected.keys():
        return math.inf
    scale = max(value.abs().max().item() for value in expected.values())
    return max((actual[k] - expected[k]).abs().max().item() for k in expected) / scale


def rows_to_check(rows) -> List[str]:
    """The rows the same-math check compares with the bare loop: the four procedures always, and the
    compiled ones when their rows run (``dga_best`` stands for our compiled towers, which the
    ``plain_sub_best`` row uses too)."""
    checked = ['runner', 'plain', 'dga', 'open_clip']
    if {'dga_best', 'plain_sub_best'} & set(rows):
        checked.append('dga_best')
    if 'open_clip_best' in rows:
        checked.append('open_clip_best')
    return checked


def check_same_math(rows, settings: Settings) -> dict:
    """Runs in a fresh process: every row's float64 step against the bare loop's.

    LayerNorm towers without dropout: BatchNorm normalises each DGA / accum-freq sub-batch with its own
    statistics and dropout draws differ between procedures, both by design, and neither is what this
    guards (zerovl's DGA tests cover the RNG replay)."""
    prepare_process(settings)
    reference = one_step('bare', settings)
    result = {}
    for row in rows_to_check(rows):
        missing = missing_package(row)
        if missing:
            result[row] = dict(skipped=f'{missing} is not installed')
            continue
        step = one_step(row, settings)
        result[row] = dict(grad=relative_difference(step['grads'], reference['grads']),
                           update=relative_difference(step['updates'], reference['updates']))
    return result


# ------------------------------------------------------------------------------------------ processes

def row_processes(device: str):
    """One fresh process per task. On CPU a fork server that has imported the libraries once forks
    them (each row still starts from a process that has run nothing); on CUDA every row is spawned, so
    that no parent has touched the driver before a row forks."""
    if device == 'cuda':
        context = multiprocessing.get_context('spawn')
    else:
        context = multiprocessing.get_context('forkserver')
        context.set_forkserver_preload(PRELOAD)
    return concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context, max_tasks_per_child=1)


def in_fresh_process(function: Callable, *args):
    with row_processes(args[-1].device) as pool:
        try:
            return pool.submit(function, *args).result()
        except concurrent.futures.process.BrokenProcessPool as error:  # killed, e.g. out of memory
            return dict(failed=f'the process died ({error})')


def pool_repeats(runs: List[dict]) -> dict:
    """One row's rounds as one result: every timed step pooled, the memory of the median round."""
    if any('median_s' not in run for run in runs):
        return next(run for run in runs if 'median_s' not in run)
    times = [t for run in runs for t in run['step_times']]
    cpu_times = [t for run in runs for t in run['cpu_step_times']]
    memory = sorted(runs, key=lambda run: run['increment_bytes'])[(len(runs) - 1) // 2]
    return dict(memory, step_times=times, median_s=statistics.median(times), cpu_step_times=cpu_times,
                median_cpu_s=statistics.median(cpu_times), rounds=len(runs))


# ------------------------------------------------------------------------------------------ main

def main(argv=None) -> dict:
    args = parse_args(argv)
    command = 'python tools/benchmarks/benchmark_train.py ' + ' '.join(sys.argv[1:] if argv is None else argv)
    settings = benchmark_settings(args)
    load_at_start = os.getloadavg()[0]
    check = None if args.no_check else in_fresh_process(check_same_math, tuple(args.rows), check_settings(args))
    runs = {row: [] for row in args.rows}
    for repeat in range(args.repeats):
        for row in args.rows:  # interleaved: a slow drift of the machine hits every row alike
            done = in_fresh_process(measure_row, row, settings)
            runs[row].append(done)
            print(f"round {repeat + 1}, {row}: median {done['median_s']:.3f} s per step" if 'median_s' in done
                  else f'round {repeat + 1}, {row}: {done}', flush=True)
    results = {row: pool_repeats(row_runs) for row, row_runs in runs.items()}
    flops = in_fresh_process(step_flops_per_sample, settings)
    peak = device_peak(torch.cuda.get_device_name() if args.device == 'cuda' else 'CPU', args.peak_tflops)
    add_utilisation(results, flops.get('flops_per_sample'), peak)
    ratios = comparisons(results, settings.sub_batches)
    markdown = report(args, command, settings, results, check, ratios, load_at_start, flops, peak)
    print(markdown)
    output = dict(command=command, settings=dataclasses.asdict(settings), rows=results, comparisons=ratios,
                  same_math=check, flops=flops, peak=dataclasses.asdict(peak), markdown=markdown)
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(output, f, indent=2, default=str)
    return output


if __name__ == '__main__':
    main()
