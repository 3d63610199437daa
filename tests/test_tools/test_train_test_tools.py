"""tools/train.py, tools/test.py and tools/dist_train.sh run the demo recipe end to end."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from zerovl.testing import find_free_port, tiny_demo_config

REPO = os.getcwd()  # tests/conftest.py moved here


def tiny_config_file(synthetic_root, work_dir, batch_sampler_mode=None, **kwargs) -> str:
    cfg = tiny_demo_config(synthetic_root, work_dir, **kwargs)
    if batch_sampler_mode:
        cfg.train_dataloader.batch_sampler.mode = batch_sampler_mode
    assert cfg.model.mixup and cfg.model.dga
    path = osp.join(work_dir, 'tiny_demo.py')
    os.makedirs(work_dir, exist_ok=True)
    cfg.dump(path)
    return path


def run(cmd, **env):
    result = subprocess.run(cmd, cwd=REPO, env=dict(os.environ, **env), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f'{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}'
    return result.stdout + result.stderr


def test_train_then_test_with_amp_prints_table_and_writes_json(synthetic_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    config = tiny_config_file(synthetic_root, work_dir)
    run([sys.executable, 'tools/train.py', config, '--work-dir', work_dir, '--amp'])
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
    out_json = str(tmp_path / 'metrics.json')
    output = run([sys.executable, 'tools/test.py', config, osp.join(work_dir, 'epoch_1.pth'),
                  '--work-dir', work_dir, '--out', out_json])
    metrics = json.load(open(out_json))
    for dataset in ('synth_a', 'synth_b'):
        assert 0 <= metrics[f'{dataset}/rsum'] <= 600
        assert f'| {dataset} |' in output
    assert 'mean_rsum' in metrics


def test_dist_train_with_two_cpu_processes(synthetic_root, tmp_path):
    """ZeroVL's three methods together on two ranks: debiased sampling, mixup and DGA (2 sub-batches)."""
    work_dir = str(tmp_path / 'work')
    config = tiny_config_file(synthetic_root, work_dir, batch_sampler_mode='debias')
    # --device cpu: this test means two gloo processes on the CPU, also on a machine with one GPU (two
    # ranks cannot share it through NCCL).
    output = run(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', work_dir, '--device', 'cpu'],
                 PYTHON=sys.executable, PORT=str(find_free_port()))
    assert 'Epoch(train) [1]' in output
    # 64 pairs, 2 processes x batch 8: 4 iterations per epoch, and validation ran across both ranks.
    assert 'Epoch(train) [1][4/4]' in output
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
    assert 'synth_a/rsum' in output
