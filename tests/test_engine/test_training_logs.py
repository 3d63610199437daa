"""What a normal run leaves for people to look at: TensorBoard event files (on by default) and the
scalars plot_curves.py draws."""
import glob
import json
import os.path as osp
import shutil
import tempfile

import pytest
import torch
from mmengine.runner import Runner

from zerovl.testing import tiny_demo_config
from zerovl.testing.scripts import load_script
from zerovl.utils import register_all_modules
from zerovl.visualization.training_scalars import read_scalars


@pytest.fixture(scope='module')
def trained_work_dir(synthetic_root):
    """The default runtime's logging, unchanged, on a 1-epoch tiny run of 4 steps and a validation."""
    register_all_modules()
    work_dir = tempfile.mkdtemp(prefix='zv')
    cfg = tiny_demo_config(synthetic_root, work_dir, max_epochs=1, batch_size=16)
    cfg.train_cfg.val_interval = 1
    cfg.device = 'cpu'
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        Runner.from_cfg(cfg).train()
    finally:
        torch.set_num_threads(previous)
    yield work_dir
    shutil.rmtree(work_dir, ignore_errors=True)


def test_tensorboard_events_hold_the_logged_scalars_and_the_config(trained_work_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    (events_file,) = glob.glob(osp.join(trained_work_dir, '*', 'vis_data', 'events.out.tfevents.*'))
    events = EventAccumulator(events_file, size_guidance={'tensors': 0, 'scalars': 0}).Reload()
    tags = set(events.Tags()['scalars'])
    assert {'loss', 'lr', 'temperature', 'mean_rsum', 'synth_a/rsum'} <= tags
    train, val = read_scalars(trained_work_dir)
    # The same numbers as the JSON scalars, step for step.
    assert [(event.step, pytest.approx(event.value, rel=1e-6)) for event in events.Scalars('loss')] == train['loss']
    assert [event.step for event in events.Scalars('mean_rsum')] == [1]  # validation steps are epochs
    config_text = events.Tensors('config/text_summary')[0].tensor_proto.string_val[0].decode()
    assert json.loads(config_text)['model']['type'] == 'DualEncoder'


def test_scalars_put_validation_at_the_end_of_its_epoch(trained_work_dir):
    train, val = read_scalars(trained_work_dir)
    assert [step for step, _ in train['loss']] == list(range(1, 5))
    assert [step for step, _ in val['mean_rsum']] == [4]
    assert 'time' not in train and 'iter' not in train


def test_plot_curves_writes_the_png_it_names(trained_work_dir, capsys):
    tool = load_script('tools/analysis_tools/plot_curves.py')
    assert tool.main([trained_work_dir]) == 0
    out = capsys.readouterr().out
    png = osp.join(trained_work_dir, 'curves.png')
    assert osp.abspath(png) in out and 'loss, lr, temperature, synth_a/rsum, synth_b/rsum, mean_rsum' in out
    with open(png, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert tool.main([trained_work_dir, '--keys', 'loss', 'no_such_metric']) == 1
    assert 'not logged in' in capsys.readouterr().err
    empty = tempfile.mkdtemp(prefix='zv')
    assert tool.main([empty]) == 1
    assert 'no <timestamp>/vis_data/scalars.json' in capsys.readouterr().err
