"""A process that dies while saving a checkpoint leaves the previous one loadable and named by
``last_checkpoint``, with nothing partial under a final name (MMEngine's own hook does not)."""
import os
import os.path as osp

import pytest
from mmengine.fileio import LocalBackend
from mmengine.runner import Runner

from zerovl.engine import safe_load
from zerovl.testing import tiny_demo_config
from zerovl.utils import register_all_modules
from zerovl.utils.atomic_file import write_text_atomically


pytestmark = pytest.mark.usefixtures('one_thread')


class DiedWhileSaving(BaseException):
    """Not an Exception, so no handler in the training code can swallow it: stands for a kill."""


def die_during_second_checkpoint(monkeypatch):
    """Make the second checkpoint write stop halfway through its bytes, then 'die'."""
    original, writes = LocalBackend.put, []

    def put(self, obj, filepath):
        if '.pth' not in str(filepath):
            return original(self, obj, filepath)
        writes.append(filepath)
        if len(writes) < 2:
            return original(self, obj, filepath)
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
        raise DiedWhileSaving(filepath)

    monkeypatch.setattr(LocalBackend, 'put', put)


def config(synthetic_root, work_dir, hook_type):
    cfg = tiny_demo_config(synthetic_root, work_dir, max_epochs=1)
    cfg.train_cfg.val_begin = 2  # no validation: saving is what is tested
    # The worst case for pruning: one checkpoint kept, so it must not go before its successor is safe.
    cfg.default_hooks.checkpoint.update(type=hook_type, by_epoch=False, interval=1, max_keep_ckpts=1)
    return cfg


def train(cfg):
    register_all_modules()
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def test_death_during_save_keeps_previous_checkpoint(small_root, short_tmp, monkeypatch):
    work_dir = osp.join(short_tmp, 'atomic')
    die_during_second_checkpoint(monkeypatch)
    with pytest.raises(DiedWhileSaving):
        train(config(small_root, work_dir, 'AtomicCheckpointHook'))
    previous = osp.join(work_dir, 'iter_1.pth')
    assert open(osp.join(work_dir, 'last_checkpoint')).read() == 'iter_1.pth'  # relative to the work dir
    assert safe_load(previous)['meta']['iter'] == 1
    assert not osp.exists(osp.join(work_dir, 'iter_2.pth'))
    assert osp.exists(osp.join(work_dir, '.iter_2.pth.partial'))  # where the half-written bytes went

    # The next run resumes from the pointer, clears the leftover, and keeps only the newest checkpoint.
    monkeypatch.undo()
    cfg = config(small_root, work_dir, 'AtomicCheckpointHook')
    cfg.resume = True
    runner = train(cfg)
    assert runner.iter == 4  # one epoch of 4 batches
    assert sorted(name for name in os.listdir(work_dir) if 'pth' in name) == ['iter_4.pth']
    assert open(osp.join(work_dir, 'last_checkpoint')).read() == 'iter_4.pth'


def test_mmengine_hook_loses_the_checkpoint(small_root, short_tmp, monkeypatch):
    """Negative control: the same death with MMEngine's CheckpointHook leaves a truncated file under
    the final name and, having pruned first, no complete checkpoint at all."""
    work_dir = osp.join(short_tmp, 'mmengine')
    die_during_second_checkpoint(monkeypatch)
    with pytest.raises(DiedWhileSaving):
        train(config(small_root, work_dir, 'CheckpointHook'))
    assert not osp.exists(osp.join(work_dir, 'iter_1.pth'))
    assert open(osp.join(work_dir, 'last_checkpoint')).read() == osp.join(work_dir, 'iter_1.pth')
    with pytest.raises(Exception):
        safe_load(osp.join(work_dir, 'iter_2.pth'))


def test_pointer_is_replaced_whole(tmp_path):
    path = str(tmp_path / 'last_checkpoint')
    write_text_atomically(path, 'a' * 100)
    write_text_atomically(path, 'b')
    assert open(path).read() == 'b'
    assert os.listdir(tmp_path) == ['last_checkpoint']
