"""--amp builds and trains on a CPU-only machine (bf16 autocast), and refuses fp16 there."""
import pytest
import torch
from torch import nn

from zerovl.engine.optimizers import DeviceAmpOptimWrapper


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU recipe; the GPU one runs in gpu_check')
def test_cpu_amp_uses_bf16_autocast_without_scaler():
    model = nn.Linear(4, 3)
    wrapper = DeviceAmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    assert wrapper.cast_dtype is torch.bfloat16 and wrapper.loss_scaler is None
    before = model.weight.detach().clone()
    with wrapper.optim_context(model):
        out = model(torch.randn(5, 4))
        assert out.dtype is torch.bfloat16
    wrapper.update_params(out.float().pow(2).mean())
    assert not torch.equal(before, model.weight)
    state = wrapper.state_dict()
    assert 'loss_scaler' not in state
    wrapper.load_state_dict(state)
    with pytest.raises(ValueError, match='float16 needs CUDA'):
        DeviceAmpOptimWrapper(dtype='float16', optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
