"""A finished 2-process run exits cleanly: tools/train.py shuts its data-loading workers down and destroys the
gloo process group before the interpreter exits (left to finalization, the group sometimes aborted the
process with "terminate called without an active exception"; zerovl/engine/teardown.py says why)."""
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
import torch.distributed as dist

from zerovl.datasets.synthetic import make_synthetic_dataset
from zerovl.testing import find_free_port, load_script, tiny_demo_config

REPO = os.getcwd()  # tests/conftest.py moved here
RUNS = 5


@pytest.fixture(scope='module')
def tiny_root():
    """24 + 8 training pairs (2 iterations of 2 x 8 on two processes), 2 held-out images, at a short path."""
    root = tempfile.mkdtemp(prefix='zv')
    make_synthetic_dataset(f'{root}/data', train_a=24, train_b=8, valid_images=2, captions_per_image=5)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def config_with_workers(root: str, work_dir: str) -> str:
    """The tiny demo recipe with the demo's loaders: 2 persistent workers each, as in the failing run."""
    cfg = tiny_demo_config(f'{root}/data', work_dir)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].update(num_workers=2, persistent_workers=True)
    os.makedirs(work_dir, exist_ok=True)
    path = os.path.join(work_dir, 'tiny.py')
    cfg.dump(path)
    return path


@pytest.fixture
def leave_no_group():
    yield
    if dist.is_initialized():  # the code under test failed to: do not break the tests that follow
        dist.destroy_process_group()


def test_train_destroys_the_group_and_stops_workers_before_returning(tiny_root, monkeypatch, leave_no_group):
    """Deterministic: a one-process gloo 'distributed' run through tools/train.py's main, in this process."""
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('MASTER_PORT', str(find_free_port()))
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '1')
    work_dir = f'{tiny_root}/in_process'
    config = config_with_workers(tiny_root, work_dir)
    load_script('tools/train.py').main([config, '--work-dir', work_dir, '--launcher', 'pytorch',
                                        '--cfg-options', 'train_cfg.val_begin=2'])
    assert os.path.isfile(os.path.join(work_dir, 'epoch_1.pth'))
    assert not dist.is_initialized()
    assert multiprocessing.active_children() == []  # the persistent workers were joined


def test_two_process_training_exits_cleanly_five_times_in_a_row(tiny_root):
    for run in range(RUNS):
        work_dir = f'{tiny_root}/run{run}'
        config = config_with_workers(tiny_root, work_dir)
        result = subprocess.run(
            ['bash', 'tools/dist_train.sh', config, '2', '--work-dir', work_dir], cwd=REPO,
            env=dict(os.environ, PYTHON=sys.executable, PORT=str(find_free_port())),
            capture_output=True, text=True, timeout=300)
        assert result.returncode == 0 and 'terminate called' not in result.stderr, \
            f'run {run + 1} of {RUNS}: exit {result.returncode}\n{result.stderr[-4000:]}'
        assert os.path.isfile(os.path.join(work_dir, 'epoch_1.pth'))
