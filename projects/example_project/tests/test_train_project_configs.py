"""Both project configs train end to end on a tiny synthetic set: the SigLIP one through tools/train.py in
a fresh interpreter (so custom_imports must find the project on its own), the tower one in-process."""
import glob
import json
import math
import os
import os.path as osp
import subprocess
import sys

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from projects.example_project.example_project.compact_conv_tower import ResidualBlock
from zerovl.testing import tiny_demo_config
from zerovl.utils import register_all_modules

CONFIGS = 'projects/example_project/configs/'
TOWER_CONFIG = CONFIGS + 'zerovl_demo_compact_conv.py'
SIGLIP_CONFIG = CONFIGS + 'zerovl_demo_siglip.py'
STEPS_PER_EPOCH = 8  # 64 pairs in batches of 8, each step in 2 DGA sub-batches, with coin-flip mixup


def tiny_project_config(config_file: str, data_root: str, work_dir: str, epochs: int) -> Config:
    """The project config at test size. tiny_demo_config puts in a tiny timm tower; a config that is
    about the project's own tower gets a tiny CompactConvTower instead."""
    own_tower = Config.fromfile(config_file).model.image_tower
    cfg = tiny_demo_config(data_root, work_dir, config_file=config_file, max_epochs=epochs)
    if own_tower.type == 'CompactConvTower':
        cfg.model.image_tower = dict(type='CompactConvTower', widths=(8, 16, 32), depths=(1, 1, 1), norm_groups=4)
    assert cfg.custom_imports and cfg.model.mixup and cfg.model.dga
    return cfg


def first_and_last(losses, window=4):
    """Mean loss of the first and of the last ``window`` steps: single steps are noisy at batch 8."""
    return sum(losses[:window]) / window, sum(losses[-window:]) / window


def test_compact_conv_config_trains_its_tower(synthetic_root, short_work_dir, one_thread):
    register_all_modules()
    # Two epochs: InfoNCE starts near chance (log 8) and falls slowly at this size.
    runner = Runner.from_cfg(tiny_project_config(TOWER_CONFIG, synthetic_root, short_work_dir, epochs=2))
    runner.train()
    losses = list(runner.message_hub.get_scalar('train/loss').data[0])
    assert len(losses) == runner.iter == 2 * STEPS_PER_EPOCH
    first, last = first_and_last(losses)
    assert last < first - 0.2, losses
    # The residual branches' last norm scales start at exactly zero; they moved, so gradients reached
    # every block of the tower.
    blocks = [m for m in runner.model.image_tower.modules() if isinstance(m, ResidualBlock)]
    assert len(blocks) == 3
    assert all(block.body[-1][1].weight.abs().min() > 0 for block in blocks)


def logged_losses(work_dir: str):
    """Per-step training losses from the run's scalars.json (the logger writes every step here)."""
    [scalars] = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    records = [json.loads(line) for line in open(scalars)]
    return [r['loss'] for r in records if 'loss' in r]


def test_siglip_config_trains_through_tools_train(synthetic_root, short_work_dir):
    config = osp.join(short_work_dir, 'tiny_siglip.py')
    # One epoch: from b = -10 the sigmoid loss falls steeply in the first steps.
    tiny_project_config(SIGLIP_CONFIG, synthetic_root, short_work_dir, epochs=1).dump(config)
    # A fresh interpreter, as a user runs it, and no PYTHONPATH: tools/train.py itself must make
    # `projects.` importable.
    env = {key: value for key, value in os.environ.items() if key != 'PYTHONPATH'}
    result = subprocess.run([sys.executable, 'tools/train.py', config, '--work-dir', short_work_dir],
                            capture_output=True, text=True, timeout=300, env=dict(env, OMP_NUM_THREADS='1'))
    assert result.returncode == 0, result.stderr[-5000:]
    losses = logged_losses(short_work_dir)
    assert len(losses) == STEPS_PER_EPOCH
    first, last = first_and_last(losses)
    assert last < first - 0.5, losses
    state = torch.load(osp.join(short_work_dir, 'epoch_1.pth'), map_location='cpu', weights_only=True)['state_dict']
    # Scale and bias are learned under DGA: 8 Adam steps at lr <= 1e-3 move each by up to ~5e-3.
    log_scale, bias = state['loss_module.log_scale'].item(), state['loss_module.bias'].item()
    assert abs(log_scale - math.log(10.0)) > 5e-4 and abs(bias + 10.0) > 5e-4, (log_scale, bias)
