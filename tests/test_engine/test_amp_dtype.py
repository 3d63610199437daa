"""--amp-dtype: bf16 autocast without a loss scaler on a GPU that has bf16, fp16 + scaler stays the
--amp default there, and a GPU without bf16 is refused. CI has no GPU: the run device is pinned to
'cuda' in MMEngine's global and torch.cuda.is_bf16_supported is patched (the wrapper only builds here)."""
import mmengine.device.utils as mmengine_device
import pytest
import torch
from torch import nn

from zerovl.engine.optimizers import DeviceAmpOptimWrapper
from zerovl.testing import load_script
from zerovl.utils import register_all_modules


@pytest.fixture
def emulated_gpu(monkeypatch):
    """Makes the wrapper believe the run trains on CUDA; returns a setter for bf16 support."""
    monkeypatch.setattr(mmengine_device, 'DEVICE', 'cuda')
    support = dict(bf16=True)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda including_emulation=True: support['bf16'])
    return support


def sgd():
    return torch.optim.SGD(nn.Linear(4, 3).parameters(), lr=0.1)


@pytest.mark.filterwarnings('ignore:.*CUDA is not available')
def test_bf16_on_a_gpu_has_no_scaler(emulated_gpu):
    wrapper = DeviceAmpOptimWrapper(dtype='bfloat16', optimizer=sgd())
    assert wrapper.device_type == 'cuda'
    assert wrapper.cast_dtype is torch.bfloat16 and wrapper.loss_scaler is None
    assert 'loss_scaler' not in wrapper.state_dict()


@pytest.mark.filterwarnings('ignore:.*CUDA is not available')
def test_amp_alone_keeps_fp16_with_scaler_on_a_gpu(emulated_gpu):
    wrapper = DeviceAmpOptimWrapper(optimizer=sgd())
    assert wrapper.cast_dtype is torch.float16 and wrapper.loss_scaler is not None


def test_bf16_on_a_gpu_without_it_is_refused(emulated_gpu):
    emulated_gpu['bf16'] = False
    with pytest.raises(ValueError, match=r'optim_wrapper.dtype=bfloat16 \(--amp-dtype bfloat16\) needs'):
        DeviceAmpOptimWrapper(dtype='bfloat16', optimizer=sgd())


@pytest.mark.parametrize('flags, dtype', [(['--amp'], None), (['--amp-dtype', 'bfloat16'], 'bfloat16'),
                                          (['--amp', '--amp-dtype', 'float16'], 'float16')])
def test_train_flags_select_the_wrapper_and_dtype(flags, dtype, tmp_path):
    train = load_script('tools/train.py', 'zerovl_train_tool')
    register_all_modules()
    previous = mmengine_device.DEVICE
    try:
        args = train.parse_args(['configs/zerovl/zerovl_demo.py', '--device', 'cpu', '--work-dir', str(tmp_path),
                                 *flags])
        cfg, _ = train.build_config(args)
    finally:
        mmengine_device.DEVICE = previous
    assert cfg.optim_wrapper.type == 'DeviceAmpOptimWrapper'
    assert cfg.optim_wrapper.get('dtype') == dtype
