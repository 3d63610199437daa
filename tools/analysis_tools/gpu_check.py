"""The GPU check: ZeroVL's full model, AMP fp16 and DGA, in a few minutes on one GPU.

    bash tools/analysis_tools/gpu_check.sh            # on a CUDA machine: ViT-B/16 + BERT-base, fp16
    python tools/analysis_tools/gpu_check.py --device cpu --towers tiny --batch-size 16   # a smoke run

Two parts, one report:

1. **Speed and memory** (``benchmark_train.py``'s rows, each in a fresh process): DGA at the global
   batch in ``--sub-batches`` pieces, a plain step at the same batch (it may run out of memory: that is
   what DGA is for, and the row says so), and a plain step at the sub-batch size; samples/s and peak
   ``torch.cuda.max_memory_allocated``.
2. **fp16 gradient agreement**: on one batch, the gradient of DGA under autocast fp16 against the
   gradient of the whole batch in one piece under the same autocast, and the same pair in float32 as a
   yardstick. DGA is exact in exact arithmetic; in fp16 the two differ by rounding only, which this
   measures (cosine similarity of the flattened gradients, and the worst relative error of any
   parameter tensor). Dropout is off so that the two computations see the same network.

The towers are built at random init from configs (no download). On CPU, autocast runs in bfloat16.
"""
import argparse
import copy
import json
import sys
import time
from pathlib import Path
from typing import Dict, Optional

import torch
from mmengine.optim import OptimWrapper

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchmark_train  # noqa: E402
from zerovl.engine.optimizers import DeviceAmpOptimWrapper  # noqa: E402
from zerovl.registry import MODELS  # noqa: E402
from zerovl.utils import register_all_modules  # noqa: E402
from zerovl.utils.benchmarking import describe_machine  # noqa: E402

STATIC_LOSS_SCALE = 1024.0  # the same scale on both sides, divided out before comparing


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--towers', choices=sorted(benchmark_train.TOWERS), default='vit-b16-bert-base')
    parser.add_argument('--batch-size', type=int, default=512, help='global batch of the speed rows')
    parser.add_argument('--sub-batches', type=int, default=8)
    parser.add_argument('--steps', type=int, default=10, help='timed steps per speed row')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--agreement-batch', type=int, default=64, help='batch of the gradient comparison')
    parser.add_argument('--out', help='write the whole report as JSON here')
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------- part 1: speed
def speed_rows(args) -> dict:
    argv = ['--device', args.device, '--towers', args.towers, '--batch-size', str(args.batch_size),
            '--sub-batches', str(args.sub_batches), '--steps', str(args.steps), '--warmup', str(args.warmup),
            '--precision', 'amp', '--rows', 'dga', 'plain', 'plain_sub', '--no-check']
    return benchmark_train.main(argv)


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
    cfg = copy.deepcopy(benchmark_train.model_config(towers))
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


def gradient_agreement(args) -> dict:
    model = build_without_dropout(args.towers, args.device)
    sub_batch = args.agreement_batch // args.sub_batches
    settings = benchmark_train.settings_for(
        benchmark_train.parse_args(['--device', args.device, '--towers', args.towers]), args.towers, None,
        benchmark_train.TOWERS[args.towers]['image_size'], args.agreement_batch, sub_batch, 'amp')
    batch = benchmark_train.synthetic_batches(settings, 1)[0]  # the preprocessor moves it to the device
    amp_dtype = 'float16' if args.device == 'cuda' else 'bfloat16'
    results = {}
    for label, dtype in ((amp_dtype, amp_dtype), ('float32', None)):
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


def main(argv=None) -> dict:
    args = parse_args(argv)
    start = time.perf_counter()
    print(f'Machine: {describe_machine()}', flush=True)
    speed = speed_rows(args)
    result = gradient_agreement(args)
    print(agreement_table(result))
    print(f'gpu_check: {time.perf_counter() - start:.0f} s in all')
    report = dict(speed=speed, agreement=result)
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2, default=str))
    return report


if __name__ == '__main__':
    main()
