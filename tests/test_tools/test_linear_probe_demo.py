"""tools/train.py and tools/test.py run the Fashion-MNIST linear-probe demo config end to end: a LARS-trained
probe on a random-init tower, 1,000 training images for 2 epochs, scored on 500 test images.

In-process and on one thread: a second Python process would spend much of this test importing torch again.
"""
import json
import os.path as osp

import pytest
from mmengine.config import Config

from zerovl.datasets.fashion_mnist import DEFAULT_ROOT, FILES
from zerovl.testing import load_script as load_script_at

CONFIG = 'configs/linear_probe/zerovl_demo_fashion_mnist.py'
MAX_EPOCHS = 2
# Measured top-1 of this run: 54.8 % (chance is 10 %); the bound leaves room for another platform's
# floating-point differences while still failing a probe that does not learn.
MIN_TOP1 = 40.0


@pytest.fixture
def work_dir(short_work_dir, one_thread):
    return short_work_dir


def load_tool(name):
    return load_script_at(f'tools/{name}.py', f'zerovl_{name}_tool')


def small_demo_config(work_dir: str) -> str:
    """The demo with a random-init tower (no pre-training checkpoint needed), fewer images and epochs."""
    cfg = Config.fromfile(CONFIG)
    cfg.model.pretrained.checkpoint = None
    cfg.train_dataloader.batch_size = 32
    cfg.train_dataloader.dataset.num_samples = 1000
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.num_samples = 500
    # Evaluated once, by tools/test.py (MMEngine's loop would also validate after the last epoch).
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.train_cfg.max_epochs = MAX_EPOCHS
    cfg.param_scheduler[0].end = 0.2
    cfg.param_scheduler[1].update(begin=0.2, end=MAX_EPOCHS)
    cfg.default_hooks.checkpoint.interval = MAX_EPOCHS
    path = osp.join(work_dir, 'probe.py')
    cfg.dump(path)
    return path


def test_linear_probe_demo_trains_and_tests_well_above_chance(work_dir, capsys):
    if not all(osp.isfile(osp.join(DEFAULT_ROOT, name)) for names in FILES.values() for name in names):
        pytest.skip(f'Fashion-MNIST not found in {DEFAULT_ROOT} (apt-get install dataset-fashion-mnist)')
    config = small_demo_config(work_dir)
    load_tool('train').main([config, '--work-dir', work_dir])
    checkpoint = osp.join(work_dir, f'epoch_{MAX_EPOCHS}.pth')
    assert osp.isfile(checkpoint)

    out = osp.join(work_dir, 'metrics.json')
    metrics = load_tool('test').main([config, checkpoint, '--work-dir', work_dir, '--out', out])
    assert json.load(open(out)) == metrics
    assert set(metrics) == {'fashion_mnist/top1', 'fashion_mnist/top5'}
    print(f"linear-probe demo (random-init tower): top-1 {metrics['fashion_mnist/top1']:.1f} %")
    assert metrics['fashion_mnist/top1'] > MIN_TOP1
    assert metrics['fashion_mnist/top5'] > metrics['fashion_mnist/top1']
    assert '| fashion_mnist |' in capsys.readouterr().out
