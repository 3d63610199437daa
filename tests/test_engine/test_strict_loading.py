"""Strict checkpoint loading: a checkpoint that does not fit the model stops with the list of keys, in
``tools/test.py`` (``StrictLoadHook`` on ``load_from``), the retrieval visualisation and the linear probe,
instead of evaluating random weights and reporting the result (issue 14)."""
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import tempfile
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config

from zerovl.engine.hooks import StrictLoadHook
from zerovl.models.linear_probe import load_tower_checkpoint
from zerovl.registry import MODELS
from zerovl.testing import load_script
from zerovl.testing.tiny_config import dump_tiny_demo
from zerovl.utils import load_config
from zerovl.utils.state_dict_fit import StateDictMismatchError

REPO = os.getcwd()  # tests/conftest.py moved here


@pytest.fixture(scope='module')
def tiny(synthetic_root):
    """(config file, a fitting checkpoint, the model's state dict, work dir): the tiny demo model."""
    work_dir = tempfile.mkdtemp(prefix='zv')
    config_file, _, model = dump_tiny_demo(synthetic_root, work_dir)
    state = model.state_dict()
    checkpoint = save(work_dir, 'fits.pth', state)
    # Runs write into eval/: a Runner dumps its config into its work dir, which would overwrite tiny.py.
    yield config_file, checkpoint, state, osp.join(work_dir, 'eval')
    shutil.rmtree(work_dir, ignore_errors=True)


def save(folder, name, state_dict):
    os.makedirs(folder, exist_ok=True)
    path = osp.join(folder, name)
    torch.save(dict(meta=dict(epoch=1), state_dict=state_dict), path)
    return path


def test_test_tool_exits_non_zero_on_an_empty_state_dict(tiny):
    config_file, _, state, work_dir = tiny
    empty = save(work_dir, 'empty.pth', {})
    result = subprocess.run([sys.executable, 'tools/test.py', config_file, empty, '--work-dir', work_dir,
                             '--no-progress'], cwd=REPO, capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, PYTHONPATH=REPO))
    assert result.returncode != 0
    weights = [key for key in state if not key.startswith('mixup.')]  # the step counter is optional
    assert f'{len(weights)} missing' in result.stderr and 'image_projection.weight' in result.stderr
    assert empty in result.stderr and 'load_from_strict' in result.stderr
    assert 'rsum' not in result.stdout  # no metrics of weights that were never loaded


def test_test_tool_refuses_a_size_mismatch_with_every_key(tiny):
    config_file, checkpoint, _, work_dir = tiny
    with pytest.raises(StateDictMismatchError) as error:
        load_script('tools/test.py').main([config_file, checkpoint, '--work-dir', work_dir, '--no-progress',
                                           '--cfg-options', 'model.embed_dim=64'])
    message = str(error.value)
    assert '0 missing, 0 unexpected, 2 of another shape' in message
    # checkpoint shape vs model shape, for both heads
    assert re.search(r'image_projection\.weight \[\d+, \d+\] vs \[64, \d+\]', message)
    assert re.search(r'text_projection\.weight \[\d+, \d+\] vs \[64, \d+\]', message)


def test_load_from_strict_false_loads_what_fits_and_evaluates(tiny):
    config_file, _, state, work_dir = tiny
    partial = save(work_dir, 'partial.pth', {key: value for key, value in state.items()
                                             if not key.startswith('text_projection.')})
    metrics = load_script('tools/test.py').main([config_file, partial, '--work-dir', work_dir, '--no-progress',
                                                 '--cfg-options', 'load_from_strict=False'])
    assert 'mean_rsum' in metrics


def test_load_config_keeps_strict_loading_when_custom_hooks_are_replaced(tmp_path):
    config_file = tmp_path / 'replaced.py'
    Config(dict(custom_hooks=[dict(type='IterationSeedHook')])).dump(str(config_file))
    hooks = load_config(str(config_file)).custom_hooks
    assert [hook['type'] for hook in hooks] == ['IterationSeedHook', 'StrictLoadHook']
    assert Config.fromfile('configs/_base_/default_runtime.py').custom_hooks[-1] == dict(type='StrictLoadHook')
    assert StrictLoadHook.priority == 'LOWEST'  # after every hook that may adjust the checkpoint


def test_visualization_refuses_a_checkpoint_that_does_not_fit(tiny):
    config_file, _, state, work_dir = tiny
    extra = save(work_dir, 'extra.pth', dict(state, **{'surplus.weight': torch.zeros(2)}))
    with pytest.raises(StateDictMismatchError, match=r'extra\.pth does not fit .* 1 unexpected'):
        load_script('tools/visualization/visualize_retrieval.py').load_model(load_config(config_file), extra, 'cpu')


def test_linear_probe_tower_refusal_uses_the_same_listing(tiny):
    config_file, _, state, work_dir = tiny
    cfg = load_config(config_file)
    tower = MODELS.build(cfg.model.image_tower)
    some = next(key for key in state if key.startswith('image_tower.'))
    partial = save(work_dir, 'tower_partial.pth', {key: value for key, value in state.items() if key != some})
    with pytest.raises(StateDictMismatchError, match=r'1 missing, 0 unexpected, 0 of another shape'):
        load_tower_checkpoint(tower, partial)


def test_the_mixup_step_counter_is_optional_but_weights_are_not(tiny):
    """A pre-training checkpoint without mixup (or a converted original one) fine-tunes a model with mixup:
    the counter then starts at 0. Any weight missing is still refused."""
    config_file, _, state, _ = tiny
    runner = SimpleNamespace(model=MODELS.build(load_config(config_file).model), cfg=Config(), _load_from='pre.pth')
    assert 'mixup.step' in state
    without_counter = {key: value for key, value in state.items() if not key.startswith('mixup.')}
    StrictLoadHook().after_load_checkpoint(runner, dict(state_dict=without_counter))
    StrictLoadHook().after_load_checkpoint(runner, dict(state_dict={f'module.{k}': v for k, v in state.items()}))
    without_weight = {key: value for key, value in without_counter.items() if key != 'text_projection.weight'}
    with pytest.raises(StateDictMismatchError, match=r'checkpoint pre\.pth does not fit .*: 1 missing'):
        StrictLoadHook().after_load_checkpoint(runner, dict(state_dict=without_weight))
