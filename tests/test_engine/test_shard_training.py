"""Training from img2dataset shards with the Runner (issue 17 f, g): the shard config trains, its
checkpoints hold every worker's stream position, and a resume from a mid-epoch checkpoint trains
exactly the batches the uninterrupted run trained after it, also after a real SIGKILL of tools/train.py."""
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from zerovl.datasets.converters.shards_convert import write_synthetic_shards
from zerovl.engine import safe_load
from zerovl.testing import tiny_demo_config
from zerovl.utils import register_all_modules

pytestmark = pytest.mark.usefixtures('one_thread')
BATCH, WORKERS, KILLED_AT = 4, 2, 3


class CaptionRecorder(Hook):
    def __init__(self):
        self.batches = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.batches.append((batch_idx, [sample['caption_id'] for sample in data_batch['data_samples']]))


def shard_config(synthetic_root, shard_root, work_dir):
    cfg = tiny_demo_config(synthetic_root, work_dir, batch_size=BATCH)
    shards = Config.fromfile('configs/_base_/datasets/shards.py').train_dataloader
    shards.update(num_workers=WORKERS, persistent_workers=True, pin_memory=False)
    shards.dataset.update(data_root=shard_root, sources=[dict(name='a', path='a'), dict(name='b', path='b')],
                          batch_size=BATCH, num_workers=WORKERS, pipeline=cfg.train_dataloader.dataset.datasets[0].pipeline)
    cfg.train_dataloader = shards
    cfg.default_hooks.checkpoint.update(by_epoch=False, interval=KILLED_AT, max_keep_ckpts=10)
    cfg.train_cfg.update(max_epochs=1, val_begin=2)
    cfg.model.dga.sub_batch_size = BATCH // 2
    return cfg


def train(cfg, resume_from=None):
    register_all_modules()
    if resume_from:
        cfg.resume, cfg.load_from = True, resume_from
    runner = Runner.from_cfg(cfg)
    recorder = CaptionRecorder()
    runner.register_hook(recorder)
    runner.train()
    return runner, recorder.batches


def test_shard_config_trains_and_resumes_mid_epoch(synthetic_root, short_work_dir):
    shard_root = osp.join(short_work_dir, 'shards')
    write_synthetic_shards(osp.join(shard_root, 'a'), 32, 4)
    write_synthetic_shards(osp.join(shard_root, 'b'), 16, 4, seed=1)
    runner, straight = train(shard_config(synthetic_root, shard_root, osp.join(short_work_dir, 'straight')))
    assert len(straight) == runner.iter == 12  # 48 samples / 4, nothing dropped
    checkpoint = osp.join(short_work_dir, 'straight', f'iter_{KILLED_AT}.pth')
    state = safe_load(checkpoint)['train_sampler']  # loads with weights_only=True: plain data
    assert state['position'] == KILLED_AT and state['num_workers'] == WORKERS
    assert sum(worker['batch'] for worker in state['workers'] if worker) == KILLED_AT
    _, resumed = train(shard_config(synthetic_root, shard_root, osp.join(short_work_dir, 'resumed')), checkpoint)
    assert resumed == straight[KILLED_AT:]


def run_train_py(cfg, work_dir, *extra):
    """tools/train.py on ``cfg`` in its own process, one thread (the runs are compared bit for bit)."""
    os.makedirs(work_dir, exist_ok=True)
    cfg_path = osp.join(work_dir, 'config.py')
    cfg.dump(cfg_path)
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    with open(f'{work_dir}{"-resumed" if extra else ""}.log', 'w+') as log:
        code = subprocess.call([sys.executable, 'tools/train.py', cfg_path, '--work-dir', work_dir, *extra],
                               cwd=os.getcwd(), env=env, stdout=log, stderr=subprocess.STDOUT, timeout=600)
        log.seek(0)
        return code, log.read()


def test_a_sigkilled_training_process_resumes_to_the_uninterrupted_run(synthetic_root, short_work_dir):
    """The real thing: tools/train.py streaming shards with 2 workers is SIGKILLed right after its
    mid-epoch checkpoint, then started again with --resume; it ends with the uninterrupted run's weights
    and the same loss at every iteration."""
    shard_root = osp.join(short_work_dir, 'shards')
    write_synthetic_shards(osp.join(shard_root, 'a'), 32, 4)
    write_synthetic_shards(osp.join(shard_root, 'b'), 16, 4, seed=1)
    straight, crashed = osp.join(short_work_dir, 'straight'), osp.join(short_work_dir, 'crashed')
    code, output = run_train_py(shard_config(synthetic_root, shard_root, straight), straight)
    assert code == 0, output[-3000:]
    killed = shard_config(synthetic_root, shard_root, crashed)
    killed.custom_imports = dict(imports=['zerovl.testing.crash_hook'], allow_failed_imports=False)
    killed.custom_hooks.append(dict(type='KillAfterCheckpointHook', iteration=KILLED_AT))
    code, output = run_train_py(killed, crashed)
    assert code == -signal.SIGKILL, output[-3000:]
    code, output = run_train_py(killed, crashed, '--resume')  # the hook fires at iteration 3 only
    assert code == 0, output[-3000:]
    assert f'resumed epoch: 0, iter: {KILLED_AT}' in output
    final = [safe_load(osp.join(work_dir, 'iter_12.pth')) for work_dir in (straight, crashed)]
    losses = [checkpoint['message_hub']['log_scalars']['train/loss']['log_history'] for checkpoint in final]
    assert len(losses[0]) == 12 and torch.equal(losses[0], losses[1])
    for key, value in final[0]['state_dict'].items():
        assert torch.equal(value, final[1]['state_dict'][key]), key
