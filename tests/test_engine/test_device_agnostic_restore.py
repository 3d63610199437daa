"""Restoring state works whatever device the checkpoint's tensors come back on.

On a GPU machine MMEngine's ``Runner.resume`` loads checkpoints onto the GPU, so every hook and every
``load_state_dict`` receives CUDA tensors; the first GPU run found resume broken by a ``.numpy()`` on
them. CI has no GPU, so these tests hand the same code :class:`FakeCudaTensor` checkpoints (host data
that refuses ``.numpy()`` and ``torch.set_rng_state`` exactly as CUDA tensors do): resume, ``load_from``,
the message hub, the DGA RNG replay and the linear-probe loader.
"""
import os.path as osp
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner

from zerovl.engine.hooks.message_hub_state_hook import MessageHubStateHook
from zerovl.testing import tiny_demo_config
from zerovl.testing.fake_device import FakeCudaTensor, as_fake_cuda, checkpoints_load_as_cuda
from zerovl.utils import register_all_modules
from zerovl.utils.rng import RngState

pytestmark = pytest.mark.usefixtures('one_thread')
EPOCHS = 2


def config(data_root, work_dir):
    cfg = tiny_demo_config(data_root, work_dir, max_epochs=EPOCHS)
    # Debiased sampling (a sampler position in the checkpoint), mixup (its step buffer) and DGA.
    cfg.train_dataloader.batch_sampler.mode = 'debias'
    cfg.default_hooks.checkpoint.update(by_epoch=False, interval=3)  # iteration 3: mid-epoch
    cfg.train_cfg.val_begin = EPOCHS + 1
    return cfg


def train(cfg, gpu_resume=False):
    register_all_modules()
    runner = Runner.from_cfg(cfg)
    if gpu_resume:
        # What Runner.resume does on a GPU machine: map_location=get_device() == 'cuda'. The model was
        # already placed by the Runner's constructor, so only the resume sees the GPU.
        with mock.patch('mmengine.runner.runner.get_device', return_value='cuda'), checkpoints_load_as_cuda():
            runner.train()
    else:
        runner.train()
    return runner, list(runner.message_hub.get_scalar('train/loss').data[0])


@pytest.fixture(scope='module')
def uninterrupted(small_root, short_tmp):
    work_dir = osp.join(short_tmp, 'straight')
    runner, losses = train(config(small_root, work_dir))
    return work_dir, losses, runner.iter


def test_emulation_refuses_what_cuda_tensors_refuse():
    fake = FakeCudaTensor(torch.arange(3.0))
    assert fake.device.type == 'cuda'
    with pytest.raises(TypeError, match='cuda:0 device type tensor to numpy'):
        fake.numpy()
    with pytest.raises(TypeError, match='cuda:0'):
        np.asarray(fake)
    with pytest.raises(TypeError, match='ByteTensor'):
        torch.set_rng_state(FakeCudaTensor(torch.get_rng_state()))
    assert fake.cpu().tolist() == [0.0, 1.0, 2.0] and type(fake.cpu()) is torch.Tensor
    assert fake.tolist() == [0.0, 1.0, 2.0] and fake.sum().item() == 3.0
    assert isinstance(fake * 2, FakeCudaTensor)  # arithmetic stays on the device


def test_resume_from_checkpoint_loaded_onto_the_gpu_repeats_the_run(uninterrupted, small_root, short_tmp):
    work_dir, losses, total = uninterrupted
    cfg = config(small_root, osp.join(short_tmp, 'resumed'))
    cfg.resume, cfg.load_from = True, osp.join(work_dir, 'iter_3.pth')
    runner, resumed = train(cfg, gpu_resume=True)
    assert runner.iter == total
    # Message hub, sampler position, mixup step, optimizer moments and schedule all came back: the
    # resumed iterations are those of the uninterrupted run. Not bit for bit here: the optimizer keeps
    # its step counters where they were loaded (the fake GPU) next to this test's CPU parameters, a mix
    # a real GPU run never has (test_resume_and_safe_loading checks the bit-exact resume).
    assert resumed[:4] == losses[:4]  # restored history
    assert resumed == pytest.approx(losses, rel=1e-5)


def test_load_from_checkpoint_on_the_gpu_loads_the_weights(uninterrupted, small_root, short_tmp):
    work_dir = uninterrupted[0]
    checkpoint = osp.join(work_dir, f'iter_{uninterrupted[2]}.pth')
    register_all_modules()
    cfg = config(small_root, osp.join(short_tmp, 'load_from'))
    cfg.load_from = checkpoint
    runner = Runner.from_cfg(cfg)
    with checkpoints_load_as_cuda(whatever_is_asked=True):
        runner.load_or_resume()
    expected = torch.load(checkpoint, map_location='cpu', weights_only=True)['state_dict']
    for name, value in runner.model.state_dict().items():
        assert type(value) is torch.Tensor and value.device.type == 'cpu', name
        torch.testing.assert_close(value, expected[name], rtol=0, atol=0, msg=name)


def test_message_hub_round_trip_through_gpu_tensors():
    buffer = HistoryBuffer([1.0, 2.5], [1, 2], max_length=7)
    hook, saved = MessageHubStateHook(), dict(meta={}, message_hub=dict(
        log_scalars={'train/loss': buffer}, runtime_info={'iter': 4}, resumed_keys={}))
    hook.before_save_checkpoint(None, saved)
    loaded = as_fake_cuda(saved)
    hook.after_load_checkpoint(None, loaded)
    restored = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(restored, HistoryBuffer) and restored.max_length == 7
    np.testing.assert_array_equal(restored.data[0], [1.0, 2.5])
    np.testing.assert_array_equal(restored.data[1], [1, 2])


def test_rng_state_restores_from_a_state_on_the_gpu():
    state = RngState.capture()
    first = torch.rand(4)
    RngState(FakeCudaTensor(state.cpu), None).restore()
    torch.testing.assert_close(torch.rand(4), first)


def test_linear_probe_loads_a_tower_from_a_gpu_checkpoint(tmp_path):
    from zerovl.models.linear_probe import load_tower_checkpoint
    register_all_modules()
    source, tower = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    path = str(tmp_path / 'dual.pth')
    torch.save({'state_dict': {f'image_tower.{k}': v for k, v in source.state_dict().items()}}, path)
    with checkpoints_load_as_cuda(whatever_is_asked=True):
        load_tower_checkpoint(tower, path)
    torch.testing.assert_close(tower.weight, source.weight)


def test_checkpoint_saved_on_a_gpu_loads_on_a_machine_without_one(tmp_path):
    """A checkpoint's tensors remember their device; a loader that does not choose one puts them back on
    the GPU they were saved from, which a CPU-only machine (or another rank's GPU) cannot do."""
    from zerovl.utils.checkpoint import load_from_local
    path = str(tmp_path / 'w.pth')
    torch.save({'w': torch.ones(2)}, path)
    with checkpoints_load_as_cuda():
        loaded = load_from_local(path)
    assert type(loaded['w']) is torch.Tensor and loaded['w'].device.type == 'cpu'
