"""A training process killed in the middle of an epoch resumes where it stopped: no batch is loaded
twice, and the following iterations are bit-identical to an uninterrupted run (debiased sampling,
coin-flip mixup and DGA)."""
import glob
import json
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys

import pytest
import torch
from mmengine.dataset import ConcatDataset
from mmengine.hooks import Hook
from mmengine.runner import Runner

from zerovl.engine import safe_load
from zerovl.testing import tiny_demo_config
from zerovl.utils import register_all_modules

REPO = os.getcwd()  # tests/conftest.py moved here
BATCH, EPOCHS, EPOCH_LENGTH = 8, 2, 4  # 24 + 8 training pairs: 3 + 1 single-domain batches per epoch
KILLED_AT = 3  # mid-epoch: after batch 3 of 4 of the first epoch; the resumed run then crosses an epoch
INTERVAL, KEEP = 3, 2  # iteration checkpoints at 3, 6 and the last (8); the 2 newest are kept


pytestmark = pytest.mark.usefixtures('one_thread')


def resumable_config(data_root: str, work_dir: str, kill_at: int = None):
    cfg = tiny_demo_config(data_root, work_dir, max_epochs=EPOCHS, batch_size=BATCH)
    # ZeroVL's three methods: mixup and DGA come with the demo, debiased sampling is set here.
    cfg.train_dataloader.batch_sampler.mode = 'debias'
    assert cfg.model.mixup and cfg.model.dga
    cfg.default_hooks.checkpoint.update(by_epoch=False, interval=INTERVAL, max_keep_ckpts=KEEP)
    cfg.train_cfg.val_begin = EPOCHS + 1  # no validation: training is what is compared
    if kill_at is not None:
        cfg.custom_imports = dict(imports=['zerovl.testing.crash_hook'], allow_failed_imports=False)
        cfg.custom_hooks.append(dict(type='KillAfterCheckpointHook', iteration=kill_at))
    return cfg


def start_training(config, work_dir, *extra):
    cfg_path = osp.join(work_dir, 'config.py')
    os.makedirs(work_dir, exist_ok=True)
    config.dump(cfg_path)
    # One thread per process: the runs are compared bit for bit, so they must use the same count, and
    # two of them run at once on a small machine.
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    # Output goes to a file next to the work dir: a pipe nobody reads while another run is awaited
    # would fill up and stall the process.
    log = open(f'{work_dir}{"-resumed" if extra else ""}.log', 'w+')
    process = subprocess.Popen([sys.executable, 'tools/train.py', cfg_path, '--work-dir', work_dir, *extra],
                               cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log = log
    return process


def finish(process, expected_returncode=0):
    process.wait(timeout=600)
    process.log.seek(0)
    output = process.log.read()
    process.log.close()
    assert process.returncode == expected_returncode, output[-5000:]
    return output


@pytest.fixture(scope='module')
def runs(small_root, short_tmp):
    straight, crashed = osp.join(short_tmp, 'straight'), osp.join(short_tmp, 'crashed')
    uninterrupted = start_training(resumable_config(small_root, straight), straight)
    killed = start_training(resumable_config(small_root, crashed, kill_at=KILLED_AT), crashed)
    finish(killed, expected_returncode=-signal.SIGKILL)
    state_at_kill = dict(files=sorted(os.listdir(crashed)),
                         pointer=open(osp.join(crashed, 'last_checkpoint')).read())
    # Kept for the in-process tests below: the resumed run prunes it.
    saved = osp.join(short_tmp, f'iter_{KILLED_AT}.pth')
    shutil.copy(osp.join(crashed, f'iter_{KILLED_AT}.pth'), saved)
    # The same command and config again, with --resume: it picks the checkpoint from last_checkpoint
    # (its kill hook fires after iteration 3 only, which the resumed run does not run again).
    resumed = start_training(resumable_config(small_root, crashed, kill_at=KILLED_AT), crashed, '--resume')
    output = finish(resumed)
    finish(uninterrupted)
    return dict(straight=straight, crashed=crashed, at_kill=state_at_kill, resume_output=output,
                checkpoint=saved)


def final_checkpoint(work_dir):
    return safe_load(osp.join(work_dir, f'iter_{EPOCHS * EPOCH_LENGTH}.pth'))


def train_scalars(work_dir, newest_only=False):
    """Per-iteration training scalars from the json log(s) of ``work_dir``, by iteration."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    rows = [json.loads(line) for path in (logs[-1:] if newest_only else logs) for line in open(path)]
    return {row['iter']: (row['loss'], row['lr'], row['temperature']) for row in rows if 'loss' in row}


def test_killed_run_left_its_last_checkpoint(runs):
    at_kill = runs['at_kill']
    assert f'iter_{KILLED_AT}.pth' in at_kill['files']
    assert at_kill['pointer'] == f'iter_{KILLED_AT}.pth'  # relative to the work dir
    assert not any(name.endswith('.partial') for name in at_kill['files'])


def test_resumed_run_continues_mid_epoch_bit_exactly(runs):
    assert f'resumed epoch: 0, iter: {KILLED_AT}' in runs['resume_output']
    # The first batch trained after the resume is the epoch's batch KILLED_AT + 1 (log counts from 1).
    assert f'Epoch(train) [1][{KILLED_AT + 1}/{EPOCH_LENGTH}]' in runs['resume_output']
    straight, resumed = final_checkpoint(runs['straight']), final_checkpoint(runs['crashed'])
    assert resumed['meta']['iter'] == straight['meta']['iter'] == EPOCHS * EPOCH_LENGTH
    # Every loss, the first KILLED_AT restored from the checkpoint and the rest recomputed, is identical.
    losses = [buffer['log_history'] for buffer in (straight['message_hub']['log_scalars']['train/loss'],
                                                   resumed['message_hub']['log_scalars']['train/loss'])]
    assert len(losses[0]) == EPOCHS * EPOCH_LENGTH and torch.equal(losses[0], losses[1])
    # So are the final weights, including the mixup step counter, and the optimizer moments.
    for key, value in straight['state_dict'].items():
        assert torch.equal(value, resumed['state_dict'][key]), key
    assert int(resumed['state_dict']['mixup.step']) == EPOCHS * EPOCH_LENGTH
    for moments, resumed_moments in zip(straight['optimizer']['state'].values(),
                                        resumed['optimizer']['state'].values()):
        assert torch.equal(moments['exp_avg'], resumed_moments['exp_avg'])
    # The json log of the resumed process holds exactly the iterations it ran, with the same values.
    after_resume = train_scalars(runs['crashed'], newest_only=True)
    assert sorted(after_resume) == list(range(KILLED_AT + 1, EPOCHS * EPOCH_LENGTH + 1))
    uninterrupted = train_scalars(runs['straight'])
    assert {step: uninterrupted[step] for step in after_resume} == after_resume


def test_resumed_run_keeps_the_newest_checkpoints(runs):
    # iter_3, saved by the killed process, was pruned by the resumed one; the pointer names the last.
    crashed = runs['crashed']
    kept = sorted(name for name in os.listdir(crashed) if name.endswith('.pth'))
    assert kept == ['iter_6.pth', 'iter_8.pth']
    assert open(osp.join(crashed, 'last_checkpoint')).read() == 'iter_8.pth'  # relative to the work dir
    assert not glob.glob(osp.join(crashed, '.*'))


class BatchIndexRecorder(Hook):
    def __init__(self):
        self.batch_indices, self.iterations = [], []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.batch_indices.append(batch_idx)
        self.iterations.append(runner.iter)


def resume_in_process(cfg, checkpoint, monkeypatch):
    """Resume the first epoch from ``checkpoint``; returns the runner, the batch indices and iterations
    it trained, and every sample index the loader fetched."""
    fetched = []
    original = ConcatDataset.__getitem__
    monkeypatch.setattr(ConcatDataset, '__getitem__',
                        lambda self, idx: fetched.append(idx) or original(self, idx))
    cfg.train_cfg.max_epochs = 1  # the rest of the first epoch is enough here
    cfg.resume, cfg.load_from = True, checkpoint
    register_all_modules()
    runner = Runner.from_cfg(cfg)
    recorder = BatchIndexRecorder()
    runner.register_hook(recorder)
    runner.train()
    return runner, recorder, fetched


def test_resume_loads_only_the_remaining_batches(runs, small_root, short_tmp, monkeypatch):
    cfg = resumable_config(small_root, osp.join(short_tmp, 'in_process'))
    runner, recorder, fetched = resume_in_process(cfg, runs['checkpoint'], monkeypatch)
    remaining = range(KILLED_AT, EPOCH_LENGTH)
    assert recorder.batch_indices == recorder.iterations == list(remaining)
    assert runner.iter == EPOCH_LENGTH
    plan = runner.train_dataloader.batch_sampler.plan(epoch=0)
    # Nothing before batch KILLED_AT was loaded: the sampler started there.
    assert fetched == [index for batch in remaining for index in plan[batch].indices]


def test_default_sampler_resumes_by_loading_and_dropping(runs, small_root, short_tmp, monkeypatch):
    """Without a resumable batch sampler the epoch still continues at the right batch and ends at the
    right iteration, but the skipped batches are loaded (documented fallback)."""
    cfg = resumable_config(small_root, osp.join(short_tmp, 'default_sampler'))
    cfg.train_dataloader.pop('batch_sampler')
    runner, recorder, fetched = resume_in_process(cfg, runs['checkpoint'], monkeypatch)
    assert recorder.batch_indices == recorder.iterations == list(range(KILLED_AT, EPOCH_LENGTH))
    assert runner.iter == EPOCH_LENGTH
    assert len(fetched) == EPOCH_LENGTH * BATCH  # the first KILLED_AT batches were loaded and dropped


def test_with_workers_the_checkpoint_holds_the_trained_batches(small_root, short_tmp):
    """A worker makes the loader ask its sampler for batches ahead of training (2 per worker); the
    position saved is still the number of batches trained, and resuming from it (where the loader
    prefetches as soon as its iterator exists) trains exactly the rest."""
    def config(work_dir):
        cfg = resumable_config(small_root, osp.join(short_tmp, work_dir))
        cfg.train_cfg.max_epochs = 1
        cfg.train_dataloader.update(num_workers=1, persistent_workers=True)
        return cfg

    register_all_modules()
    Runner.from_cfg(config('workers')).train()
    checkpoint = osp.join(short_tmp, 'workers', f'iter_{KILLED_AT}.pth')
    assert safe_load(checkpoint)['train_sampler']['position'] == KILLED_AT
    cfg = config('workers_resumed')
    cfg.resume, cfg.load_from = True, checkpoint
    runner = Runner.from_cfg(cfg)
    recorder = BatchIndexRecorder()
    runner.register_hook(recorder)
    runner.train()
    assert recorder.batch_indices == list(range(KILLED_AT, EPOCH_LENGTH))
