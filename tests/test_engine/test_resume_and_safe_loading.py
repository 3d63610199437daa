"""Checkpoints: a resumed run repeats the uninterrupted run, and loading is safe by default."""
import collections
import os.path as osp

import pytest
import torch
from mmengine.runner import Runner

from zerovl.engine import UnsafeCheckpointError, safe_load, trust_checkpoints
from zerovl.testing import tiny_demo_config
from zerovl.utils import register_all_modules


def train(cfg):
    register_all_modules()
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner, list(runner.message_hub.get_scalar('train/loss').data[0])


@pytest.fixture(scope='module')
def uninterrupted(synthetic_root, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('uninterrupted'))
    runner, losses = train(tiny_demo_config(synthetic_root, work_dir, max_epochs=2))
    return work_dir, losses, runner.iter


def test_resume_continues_with_the_same_losses(uninterrupted, synthetic_root, tmp_path):
    work_dir, losses, total_iters = uninterrupted
    assert len(losses) == total_iters and total_iters % 2 == 0
    cfg = tiny_demo_config(synthetic_root, str(tmp_path), max_epochs=2)
    cfg.resume, cfg.load_from = True, osp.join(work_dir, 'epoch_1.pth')
    runner, resumed_losses = train(cfg)
    assert runner.iter == total_iters
    # The message hub came back from the checkpoint (first epoch) and the second epoch is bit-identical:
    # same weights, optimizer moments, learning rates, data order and dropout masks.
    assert resumed_losses == losses


def test_checkpoints_are_plain_and_load_with_weights_only(uninterrupted):
    work_dir = uninterrupted[0]
    checkpoint = torch.load(osp.join(work_dir, 'epoch_1.pth'), map_location='cpu', weights_only=True)
    assert {'meta', 'state_dict', 'message_hub', 'optimizer', 'param_schedulers'} <= set(checkpoint)


class Payload:
    """Stands for any class an attacker could make ``pickle`` instantiate."""


def test_unsafe_checkpoint_is_refused_with_instructions(tmp_path):
    path = str(tmp_path / 'unsafe.pth')
    torch.save({'state_dict': {}, 'extra': Payload()}, path)
    with pytest.raises(UnsafeCheckpointError, match='ZEROVL_TRUST_CHECKPOINTS=1'):
        safe_load(path)
    # The Runner's own loader goes through the same check.
    from mmengine.runner import CheckpointLoader
    register_all_modules()
    with pytest.raises(UnsafeCheckpointError, match=path):
        CheckpointLoader.load_checkpoint(path)
    with trust_checkpoints():
        assert isinstance(safe_load(path)['extra'], Payload)


def test_plain_containers_load_without_trust(tmp_path):
    path = str(tmp_path / 'plain.pth')
    torch.save({'w': torch.ones(2), 'meta': collections.OrderedDict(epoch=3, note='ok')}, path)
    assert safe_load(path)['meta']['epoch'] == 3
