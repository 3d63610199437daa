"""ieee_fp32_matmul: full-precision float32 products inside, the caller's settings back afterwards."""
import pytest
import torch

from zerovl.utils.matmul_precision import ieee_fp32_matmul

BACKENDS = (torch.backends.cuda.matmul, torch.backends.mkldnn.matmul)


@pytest.fixture
def reduced_precision():
    """The process allows TF32 (cuBLAS) and bf16 (oneDNN) float32 matmuls, as a training script may."""
    previous = [backend.fp32_precision for backend in BACKENDS]
    torch.backends.cuda.matmul.fp32_precision = 'tf32'
    torch.backends.mkldnn.matmul.fp32_precision = 'bf16'
    yield ('tf32', 'bf16')
    for backend, precision in zip(BACKENDS, previous):
        backend.fp32_precision = precision


def settings():
    return tuple(backend.fp32_precision for backend in BACKENDS)


def test_block_runs_in_ieee_and_the_settings_come_back(reduced_precision):
    with ieee_fp32_matmul():
        assert settings() == ('ieee', 'ieee')
    assert settings() == reduced_precision


def test_settings_come_back_when_the_block_raises(reduced_precision):
    with pytest.raises(KeyError):
        with ieee_fp32_matmul():
            raise KeyError('inside')
    assert settings() == reduced_precision
