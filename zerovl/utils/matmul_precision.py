"""Full IEEE float32 matrix products for a block of code, whatever the process's TF32/bf16 settings.

A training script may allow TF32 on CUDA (10-bit mantissa inputs) or, with
``torch.set_float32_matmul_precision('medium')``, bf16 in oneDNN's CPU matmul. Code whose result must not
depend on such a setting (exact retrieval ranks, where a rounded score can flip a tie) runs under
:func:`ieee_fp32_matmul`. It reads and writes only the per-backend ``fp32_precision`` attributes: torch
refuses to *read* the legacy flags once the new API has been used, but the new attributes can be read and
restored whichever API set them.
"""
from contextlib import contextmanager
from typing import Iterator

import torch

# The matmul backends that a float32 product may be routed through: cuBLAS on CUDA, oneDNN on CPU.
_MATMUL_BACKENDS = (torch.backends.cuda.matmul, torch.backends.mkldnn.matmul)


@contextmanager
def ieee_fp32_matmul() -> Iterator[None]:
    """Run the block with float32 matmuls in full precision; restore the previous settings afterwards."""
    previous = [backend.fp32_precision for backend in _MATMUL_BACKENDS]
    try:
        for backend in _MATMUL_BACKENDS:
            backend.fp32_precision = 'ieee'
        yield
    finally:
        for backend, precision in zip(_MATMUL_BACKENDS, previous):
            backend.fp32_precision = precision
