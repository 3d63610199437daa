"""The GPU check (``make gpu-check``): zerovl on a GPU, one report, rewritten after every part.

    make gpu-check                                    # = bash tools/benchmarks/gpu_check.sh
    GPU_CHECK_TIMEOUT=570 make gpu-check GPU_CHECK_ARGS='--parts speed'   # the speed rows on their own
    python tools/benchmarks/gpu_check.py --device cpu --towers tiny --batch-size 16 --parts speed agreement

Five parts (the suite and the end-to-end run in processes with their own time limits; the speed rows each
in a fresh process), one JSON + markdown report in ``--report-dir``:

1. **The test suite with the GPU visible** (``pytest tests projects``): what CI, which never sees a GPU,
   cannot check. Failures are listed by name in the report.
2. **ZeroVL's full recipe end to end** (``gpu_check_e2e.py``): zerovl_14m's towers at random init, its
   pipelines, debiased sampling, mixup, DGA and AMP through ``tools/dist_train.sh`` on the synthetic set,
   killed mid-epoch, resumed, compared with an uninterrupted run, validated.

3. **Speed and memory** (``benchmark_train.py``'s rows, each in a fresh process; by default the issue's
   4096 in 8 x 512): DGA at the global batch in ``--sub-batches`` pieces, a plain step at the same batch
   (it may run out of memory: that is what DGA is for, and the row says so), a plain step at the
   sub-batch size, open_clip's accum-freq with its defaults (AMP fp16), and DGA, the sub-batch step and
   open_clip again with each side's best flags (bf16, compiled, fused AdamW for ours; ``--precision
   amp_bf16 --torchcompile`` for open_clip); samples/s, model TFLOP/s and MFU, peak
   ``torch.cuda.max_memory_allocated``, and one PASS/FAIL line per target.
4. **fp16 (and bf16) gradient agreement**: on one batch, the gradient of DGA under autocast fp16 against the
   gradient of the whole batch in one piece under the same autocast, and the same pair in float32 as a
   yardstick. DGA is exact in exact arithmetic; in fp16 the two differ by rounding only, which this
   measures (cosine similarity of the flattened gradients, and the worst relative error of any
   parameter tensor). Dropout is off so that the two computations see the same network.
5. **The training data pipeline per core** (``benchmark_dataloader.py --tables train --workers 0``):
   zerovl's fast pipeline, its mmpretrain reference and torchvision's PIL path on the node's CPU, which
   decides how many loader workers a GPU needs.

The towers are built at random init from configs (no download). On CPU, autocast runs in bfloat16; on
a GPU the agreement is measured in float16 and, where the GPU supports it, bfloat16.
"""
import argparse
import copy
import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Dict, Optional

import torch
from mmengine.optim import OptimWrapper

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchmark_train  # noqa: E402
import train_step_setup  # noqa: E402
from zerovl.engine.optimizers import DeviceAmpOptimWrapper  # noqa: E402
from zerovl.registry import MODELS  # noqa: E402
from zerovl.utils import register_all_modules  # noqa: E402
from zerovl.utils.benchmarking import describe_machine  # noqa: E402

STATIC_LOSS_SCALE = 1024.0  # the same scale on both sides, divided out before comparing


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--towers', choices=sorted(train_step_setup.TOWERS), default='vit-b16-bert-base')
    parser.add_argument('--batch-size', type=int, default=4096, help='global batch of the speed rows')
    parser.add_argument('--sub-batches', type=int, default=8)
    parser.add_argument('--steps', type=int, default=4, help='timed steps per speed row')
    parser.add_argument('--warmup', type=int, default=2, help='untimed steps first (the compiled rows compile here)')
    parser.add_argument('--speed-rows', nargs='+', choices=SPEED_ROWS, default=list(SPEED_ROWS))
    parser.add_argument('--compile-backend', default='inductor', help='torch.compile backend of the best-flag rows')
    parser.add_argument('--peak-tflops', type=float,
                        help="the device's peak for MFU (default: benchmark_train's table)")
    parser.add_argument('--agreement-batch', type=int, default=64, help='batch of the gradient comparison')
    parser.add_argument('--out', help='write the whole report as JSON here')
    parser.add_argument('--parts', nargs='+', choices=PARTS, default=list(PARTS))
    parser.add_argument('--report-dir', help='write gpu_check.json and gpu_check.md here (and the parts\' logs)')
    parser.add_argument('--suite-timeout', type=int, default=240, help='seconds for the test suite')
    parser.add_argument('--e2e-timeout', type=int, default=150, help='seconds per end-to-end training run')
    parser.add_argument('--pipeline-images', type=int, default=300, help='JPEGs of the pipeline part')
    return parser.parse_args(argv)


PARTS = ('suite', 'e2e', 'speed', 'agreement', 'pipeline')
SPEED_ROWS = ('dga', 'plain', 'plain_sub', 'open_clip', 'dga_best', 'plain_sub_best', 'open_clip_best')
REPO = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------ part 0: suite and recipe
def test_suite(args, report_dir: Path) -> dict:
    """``pytest tests projects`` with the GPU visible: counts, and every failure by name."""
    junit = report_dir / 'suite.xml'
    command = [sys.executable, '-m', 'pytest', 'tests', 'projects', '-q', '-p', 'no:cacheprovider',
               f'--junitxml={junit}']
    with open(report_dir / 'suite.log', 'w') as log:
        try:
            returncode = subprocess.run(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                        timeout=args.suite_timeout).returncode
        except subprocess.TimeoutExpired:
            returncode = 'timed out'
    result = dict(returncode=returncode, log=str(report_dir / 'suite.log'))
    if junit.is_file():
        suite = ElementTree.parse(junit).getroot().find('testsuite')
        result.update({key: int(suite.get(key, 0)) for key in ('tests', 'failures', 'errors', 'skipped')})
        result['failed'] = [f"{case.get('classname')}::{case.get('name')}" for case in suite.iter('testcase')
                            if case.find('failure') is not None or case.find('error') is not None]
    return result


def end_to_end(args, report_dir: Path) -> dict:
    out = report_dir / 'e2e.json'
    command = [sys.executable, str(REPO / 'tools/benchmarks/gpu_check_e2e.py'), '--work-dir',
               str(report_dir / 'e2e'), '--device', args.device, '--timeout', str(args.e2e_timeout),
               '--gpus', str(max(1, torch.cuda.device_count())), '--out', str(out)]
    with open(report_dir / 'e2e.log', 'w') as log:
        try:
            subprocess.run(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, timeout=3 * args.e2e_timeout + 60)
        except subprocess.TimeoutExpired:
            return dict(passed=False, error='timed out', log=str(report_dir / 'e2e.log'))
    if not out.is_file():
        return dict(passed=False, error='no report (see the log)', log=str(report_dir / 'e2e.log'))
    return json.loads(out.read_text())


# ---------------------------------------------------------------------------------- part 1: speed
def speed_argv(args) -> list:
    """benchmark_train.py's command line: AMP, open_clip's default precision (fp16 + GradScaler on CUDA,
    bf16 on CPU), for the rows with defaults; the best-flag rows pick theirs. No same-math check here:
    the test suite runs it."""
    argv = ['--device', args.device, '--towers', args.towers, '--batch-size', str(args.batch_size),
            '--sub-batches', str(args.sub_batches), '--steps', str(args.steps), '--warmup', str(args.warmup),
            '--precision', 'amp', '--compile-backend', args.compile_backend, '--rows', *args.speed_rows,
            '--no-check']
    return argv + (['--peak-tflops', str(args.peak_tflops)] if args.peak_tflops else [])


def speed_rows(args) -> dict:
    return benchmark_train.main(speed_argv(args))


# ------------------------------------------------------------------------ part 3: the data pipeline
def pipeline_rows(args, report_dir: Path) -> dict:
    """benchmark_dataloader.py's training-pipeline table at one worker (samples/s per core)."""
    table = report_dir / 'pipeline.md'
    command = [sys.executable, str(REPO / 'tools/benchmarks/benchmark_dataloader.py'), '--tables', 'train',
               '--workers', '0', '--repeats', '3', '--num-images', str(args.pipeline_images),
               '--markdown-out', str(table)]
    with open(report_dir / 'pipeline.log', 'w') as log:
        returncode = subprocess.run(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT).returncode
    markdown = table.read_text() if table.is_file() else f'no table (see {report_dir / "pipeline.log"})'
    return dict(returncode=returncode, markdown=markdown)


# --------------------------------------------------------------------------- part 2: fp16 agreement
class RecordGradients:
    """Keeps the unscaled gradients at the optimizer step instead of stepping (DGA zeroes them after)."""

    def step(self, **kwargs) -> None:
        scaler = getattr(self, 'loss_scaler', None)
        scale = scaler.get_scale() if scaler is not None else 1.0
        self.gradients = {name: p.grad.detach().float() / scale
                          for name, p in self.named_parameters if p.grad is not None}


class AmpGradientRecorder(RecordGradients, DeviceAmpOptimWrapper):
    pass


class Fp32GradientRecorder(RecordGradients, OptimWrapper):
    pass


def build_without_dropout(towers: str, device: str) -> torch.nn.Module:
    register_all_modules()
    torch.manual_seed(0)
    cfg = copy.deepcopy(train_step_setup.model_config(towers))
    text_config = cfg['text_tower'].setdefault('config', {})
    text_config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return MODELS.build(cfg).to(device).train()


def recorder(model, amp_dtype: Optional[str]) -> RecordGradients:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    if amp_dtype is None:
        wrapper = Fp32GradientRecorder(optimizer=optimizer)
    else:
        wrapper = AmpGradientRecorder(optimizer=optimizer, dtype=amp_dtype, loss_scale=STATIC_LOSS_SCALE)
    wrapper.named_parameters = list(model.named_parameters())
    return wrapper


def whole_batch_gradients(model, batch: dict, wrapper: RecordGradients) -> Dict[str, torch.Tensor]:
    model.zero_grad(set_to_none=True)
    with wrapper.optim_context(model):
        data = model.data_preprocessor(batch, True)
        image_embeds, text_embeds = model.embed(data['inputs'])
        loss = model.contrastive_loss(image_embeds, text_embeds, None, block=len(image_embeds))
    wrapper.backward(loss)
    wrapper.step()
    return wrapper.gradients


def dga_gradients(model, batch: dict, wrapper: RecordGradients, sub_batch_size: int) -> Dict[str, torch.Tensor]:
    model.zero_grad(set_to_none=True)
    model.dga = dict(sub_batch_size=sub_batch_size)
    try:
        model.train_step(batch, wrapper)
    finally:
        model.dga = None
    return wrapper.gradients


def agreement(expected: Dict[str, torch.Tensor], actual: Dict[str, torch.Tensor]) -> dict:
    names = sorted(expected)
    flat_expected = torch.cat([expected[name].double().flatten() for name in names])
    flat_actual = torch.cat([actual[name].double().flatten() for name in names])
    # Some gradients are zero in exact arithmetic (e.g. attention key biases: softmax ignores a shift),
    # so their relative error is rounding noise over noise; they are left out of the worst case.
    meaningful = [name for name in names if expected[name].norm() > 1e-6 * flat_expected.norm()]
    errors = {name: float((actual[name] - expected[name]).norm() / expected[name].norm()) for name in meaningful}
    worst = max(errors, key=errors.get)
    return dict(cosine=float(torch.nn.functional.cosine_similarity(flat_expected, flat_actual, dim=0)),
                relative_error=float((flat_actual - flat_expected).norm() / flat_expected.norm()),
                worst_tensor=worst, worst_tensor_relative_error=errors[worst],
                tensors_compared=len(meaningful), tensors_near_zero=len(names) - len(meaningful))


def amp_dtypes(device: str) -> list:
    """float16 (with its loss scale) and bfloat16 where the GPU has it; bfloat16 alone on CPU."""
    if device != 'cuda':
        return ['bfloat16']
    return ['float16', 'bfloat16'] if torch.cuda.is_bf16_supported() else ['float16']


def gradient_agreement(args) -> dict:
    model = build_without_dropout(args.towers, args.device)
    sub_batch = args.agreement_batch // args.sub_batches
    settings = train_step_setup.settings_for(
        benchmark_train.parse_args(['--device', args.device, '--towers', args.towers]), args.towers, None,
        train_step_setup.TOWERS[args.towers]['image_size'], args.agreement_batch, sub_batch, 'amp')
    batch = train_step_setup.synthetic_batches(settings, 1)[0]  # the preprocessor moves it to the device
    results = {}
    for label, dtype in [(dtype, dtype) for dtype in amp_dtypes(args.device)] + [('float32', None)]:
        whole = whole_batch_gradients(model, batch, recorder(model, dtype))
        dga = dga_gradients(model, batch, recorder(model, dtype), sub_batch)
        results[label] = agreement(whole, dga)
    return dict(batch=args.agreement_batch, sub_batch=sub_batch, **results)


# ----------------------------------------------------------------------------------------- report
def agreement_table(result: dict) -> str:
    lines = [f"Gradient agreement, DGA ({result['batch']} in sub-batches of {result['sub_batch']}) vs the whole "
             'batch in one piece, same precision:', '',
             '| precision | cosine | relative error (all) | worst tensor | its relative error | tensors (near-zero left out) |',
             '|---|---:|---:|---|---:|---|']
    for label in (key for key in result if key not in ('batch', 'sub_batch')):
        r = result[label]
        lines.append(f"| {label} | {r['cosine']:.6f} | {r['relative_error']:.2e} | {r['worst_tensor']} | "
                     f"{r['worst_tensor_relative_error']:.2e} | {r['tensors_compared']} ({r['tensors_near_zero']}) |")
    return '\n'.join(lines)


def summary_markdown(report: dict) -> str:
    lines = [f"# GPU check, {report['date']}", '', f"Machine: {report['machine']}", '']
    suite = report.get('suite')
    if suite:
        lines += ['## Test suite with the GPU visible', '',
                  f"{suite.get('tests', '?')} tests, {suite.get('failures', '?')} failures, "
                  f"{suite.get('errors', '?')} errors, {suite.get('skipped', '?')} skipped "
                  f"(exit {suite['returncode']})", ''] + [f'- {name}' for name in suite.get('failed', [])] + ['']
    e2e = report.get('e2e')
    if e2e:
        lines += ['## Full recipe, killed and resumed', '', '```', json.dumps(e2e, indent=2), '```', '']
    speed = report.get('speed')
    if speed:
        lines += ['## Train-step rows: samples/s, MFU, open_clip with its defaults and its best flags', '',
                  speed['markdown'], '']
    if report.get('agreement'):
        lines += ['## DGA gradient agreement', '', agreement_table(report['agreement']), '']
    if report.get('pipeline'):
        lines += ['## Training data pipeline, one worker', '', report['pipeline']['markdown'], '']
    lines += [f"{report.get('seconds', 0):.0f} s in all"]
    return '\n'.join(lines) + '\n'


def save(report: dict, report_dir: Path, out: Optional[str]) -> None:
    """Written after every part, so that a part cut off by the outer time limit loses only itself."""
    (report_dir / 'gpu_check.json').write_text(json.dumps(report, indent=2, default=str))
    (report_dir / 'gpu_check.md').write_text(summary_markdown(report))
    if out:
        Path(out).write_text(json.dumps(report, indent=2, default=str))


def main(argv=None) -> dict:
    args = parse_args(argv)
    start = time.perf_counter()
    report_dir = Path(args.report_dir or 'work_dirs/gpu_check')
    report_dir.mkdir(parents=True, exist_ok=True)
    report = dict(date=time.strftime('%Y-%m-%d'), machine=describe_machine())
    print(f"Machine: {report['machine']}", flush=True)
    parts = dict(suite=lambda: test_suite(args, report_dir), e2e=lambda: end_to_end(args, report_dir),
                 speed=lambda: speed_rows(args), agreement=lambda: gradient_agreement(args),
                 pipeline=lambda: pipeline_rows(args, report_dir))
    for part in (name for name in PARTS if name in args.parts):
        report[part] = parts[part]()
        if part == 'agreement':
            print(agreement_table(report['agreement']))
        report['seconds'] = time.perf_counter() - start
        save(report, report_dir, args.out)
    print(f"gpu_check: {report.get('seconds', 0):.0f} s in all")
    print(f'report: {report_dir / "gpu_check.json"} and {report_dir / "gpu_check.md"}')
    return report


if __name__ == '__main__':
    main()
