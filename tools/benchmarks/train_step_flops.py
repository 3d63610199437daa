"""benchmark_train.py's model-FLOP utilisation (MFU): the FLOPs of one training step counted from the
towers, the device's peak from a small table (or ``--peak-tflops``), and samples/s turned into both.

Model FLOPs, as in PaLM's MFU: the matrix products and convolutions of one forward and one backward pass of
both towers, their projections and the contrastive loss, per sample. Work a procedure adds on top (DGA's
or open_clip's extra forward without a graph) is not model FLOPs, so those rows show a lower MFU for the
same samples/s: that is the overhead the figure is meant to show. Elementwise work (norms, softmax,
GELU) is not counted, as is usual for MFU.
"""
import dataclasses
from typing import Dict, Optional, Tuple

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from train_step_setup import Settings, build_model

# Dense bf16/fp16 tensor-core peaks in TFLOP/s, from NVIDIA's product spec sheets, which quote these with
# 2:4 structured sparsity; the dense figure is half of it. Matched as a substring of
# torch.cuda.get_device_name(), first match wins, so the specific names come before the family.
PEAK_TFLOPS: Tuple[Tuple[str, float, str], ...] = (
    ('H200 NVL', 835.5, 'NVIDIA H200 NVL spec sheet: BF16 tensor core 1,671 TFLOP/s with sparsity'),
    ('H200', 989.5, 'NVIDIA H200 SXM spec sheet: BF16 tensor core 1,979 TFLOP/s with sparsity'),
    ('H100 NVL', 835.5, 'NVIDIA H100 NVL spec sheet: BF16 tensor core 1,671 TFLOP/s with sparsity'),
    ('H100 PCIe', 756.5, 'NVIDIA H100 PCIe spec sheet: BF16 tensor core 1,513 TFLOP/s with sparsity'),
    ('H100', 989.5, 'NVIDIA H100 SXM spec sheet: BF16 tensor core 1,979 TFLOP/s with sparsity'),
    ('A100', 312.0, 'NVIDIA A100 spec sheet: BF16 tensor core 312 TFLOP/s dense (624 with sparsity)'),
    ('L40S', 362.0, 'NVIDIA L40S spec sheet: BF16 tensor core 362 TFLOP/s dense (733 with sparsity)'),
)


@dataclasses.dataclass(frozen=True)
class Peak:
    tflops: Optional[float]  # None: unknown, MFU is n/a
    source: str


def device_peak(device_name: str, override_tflops: Optional[float] = None) -> Peak:
    """The peak to divide by: ``--peak-tflops`` when given, else the table's entry for this device."""
    if override_tflops is not None:
        return Peak(override_tflops, '--peak-tflops')
    for key, tflops, source in PEAK_TFLOPS:
        if key.lower() in device_name.lower():
            return Peak(tflops, f'{source} (dense, bf16/fp16)')
    return Peak(None, f'no peak known for {device_name!r}: pass --peak-tflops')


def count_step_flops(model: torch.nn.Module, batch_size: int, image_size: int, caption_length: int) -> Dict[str, float]:
    """Matrix-product FLOPs of one plain training step of ``model`` (a DualEncoder) on ``batch_size``
    samples: forward of both towers, projections and loss, then backward. The model is moved to the meta
    device, so nothing is computed and the batch size costs nothing.

    Attention is pinned to the math backend, the same products written out: FlopCounterMode knows the
    fused CUDA SDPA kernels but not CPU's flash kernel, so the count must not depend on which kernel the
    dispatcher would pick (on the meta device it picks math today; the pin keeps it so)."""
    model = model.to('meta').train()
    images = torch.empty(batch_size, 3, image_size, image_size, device='meta')
    input_ids = torch.zeros(batch_size, caption_length, dtype=torch.long, device='meta')
    attention_mask = torch.ones(batch_size, caption_length, dtype=torch.long, device='meta')
    with FlopCounterMode(display=False) as counter, sdpa_kernel(SDPBackend.MATH):
        image_embeds, text_embeds = model.embed(dict(images=images, input_ids=input_ids,
                                                     attention_mask=attention_mask))
        model.contrastive_loss(image_embeds, text_embeds, None, block=batch_size).backward()
    total = counter.get_total_flops()
    return dict(flops_per_sample=total / batch_size, counted_batch=batch_size)


def step_flops_per_sample(settings: Settings) -> Dict[str, float]:
    """Runs in a fresh process: the benchmark's towers, built on the CPU without compilation (the count
    is the model's, not a backend's), counted at the sub-batch size.

    The loss's share per sample grows with the batch (2 similarity matrices of B x B x E): counted at the
    sub-batch, which for ViT-B/16 + BERT-base at 4096 is under 0.1 % of the total."""
    from zerovl.utils import register_all_modules
    register_all_modules()
    torch.set_num_threads(settings.threads)
    plain = dataclasses.replace(settings, device='cpu', compile=False)
    return count_step_flops(build_model(plain), settings.sub_batch_size, settings.image_size, settings.caption_length)


def add_utilisation(results: Dict[str, dict], flops_per_sample: Optional[float], peak: Peak) -> None:
    """Each measured row gains its model TFLOP/s and, when the peak is known, its MFU (a fraction)."""
    for result in results.values():
        if 'median_s' not in result or not flops_per_sample:
            continue
        achieved = flops_per_sample * result['batch_size'] / result['median_s']
        result['model_tflops_per_s'] = achieved / 1e12
        result['mfu'] = None if peak.tflops is None else achieved / (peak.tflops * 1e12)
