"""A run's device: pinned to the CPU next to a visible GPU, it stays there (model, resume, gloo, AMP).

A GPU is made 'visible' by patching ``torch.cuda.is_available`` and MMEngine's import-time choice, which
is all the code under test consults; nothing here touches a real GPU.
"""
import mmengine.device.utils as mmengine_device
import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.device import get_device

from zerovl.engine import prepare_distributed
from zerovl.utils.device import (DeviceUnavailableError, pin_run_device, pinned_device, resolve_device,
                                 training_device)


@pytest.fixture
def gpu_visible(monkeypatch):
    """What a GPU machine looks like to this code: CUDA available, and MMEngine's device 'cuda'."""
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(mmengine_device, 'DEVICE', 'cuda')


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(mmengine_device, 'DEVICE', 'cpu')


def test_auto_takes_the_gpu_when_visible(gpu_visible):
    assert resolve_device('auto') == 'cuda' and resolve_device(None) == 'cuda'


def test_cuda_without_a_gpu_names_the_flag_and_the_way_out(no_gpu):
    with pytest.raises(DeviceUnavailableError, match=r'--device=cuda.*no CUDA device.*--device=cpu'):
        resolve_device('cuda')
    with pytest.raises(ValueError, match="device=.tpu.: choose one of auto, cpu, cuda"):
        resolve_device('tpu', key='device')


def test_pinning_the_cpu_next_to_a_gpu_moves_mmengine_too(gpu_visible):
    with pinned_device('cpu'):
        # Runner.wrap_model and Runner.resume both ask get_device().
        assert get_device() == 'cpu' and training_device() == 'cpu'
    assert get_device() == 'cuda'


def test_config_key_and_flag(gpu_visible):
    cfg = Config(dict(device='cpu'))
    with pinned_device('auto'):
        assert pin_run_device(cfg) == 'cpu' and get_device() == 'cpu'
        assert pin_run_device(cfg, 'cuda') == 'cuda' and cfg.device == 'cuda'  # the flag wins


def test_two_processes_pinned_to_the_cpu_use_gloo_next_to_a_gpu(gpu_visible, monkeypatch):
    """Two ranks sharing one GPU through NCCL fail; pinned to the CPU they must get gloo and CPU DDP."""
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '1')
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    from zerovl.testing import find_free_port
    monkeypatch.setenv('MASTER_PORT', str(find_free_port()))
    cfg = Config(dict(model_wrapper_cfg=None))
    with pinned_device('cpu'):
        try:
            prepare_distributed(cfg, 'pytorch')
            assert dist.is_initialized() and dist.get_backend() == 'gloo'
        finally:
            if dist.is_initialized():
                dist.destroy_process_group()
    assert cfg.model_wrapper_cfg['device_ids'] is None
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'


def test_mixed_precision_follows_the_pinned_device(gpu_visible):
    from zerovl.engine.optimizers import DeviceAmpOptimWrapper
    optimizer = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)
    with pinned_device('cpu'):
        wrapper = DeviceAmpOptimWrapper(optimizer=optimizer)
    assert wrapper.device_type == 'cpu' and wrapper.cast_dtype is torch.bfloat16
    assert wrapper.loss_scaler is None
