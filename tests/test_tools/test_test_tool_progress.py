"""tools/test.py shows evaluation progress through EvalProgressHook, unless --no-progress."""
import os.path as osp
import shutil
import tempfile

import torch
from mmengine.config import Config

from zerovl.registry import MODELS
from zerovl.testing import tiny_demo_config
from zerovl.utils import register_all_modules
from zerovl.testing import load_script as load_script_at

SCRIPT = 'tools/test.py'


def load_script():
    return load_script_at(SCRIPT, 'zerovl_test_tool')


STARTUP_REPORT = ('System environment:', 'Config:', 'Hooks will be executed in the following order')


def test_progress_lines_then_the_table(synthetic_root, capsys):
    """In-process, so the hook writes to pytest's captured stdout: no terminal, hence plain lines. The
    Runner's start-up report goes to the log file only, unless --verbose."""
    register_all_modules()
    work_dir = tempfile.mkdtemp(prefix='zv')
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cfg = tiny_demo_config(synthetic_root, work_dir)
        config_file, checkpoint = osp.join(work_dir, 'tiny.py'), osp.join(work_dir, 'tiny.pth')
        cfg.dump(config_file)
        torch.manual_seed(0)
        torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, checkpoint)
        load_script().main([config_file, checkpoint, '--work-dir', work_dir])
        out = capsys.readouterr().out
        log_file = out.split('full log (environment, config, hooks): ')[1].split()[0]
        log_text = open(log_file).read()
        load_script().main([config_file, checkpoint, '--work-dir', work_dir, '--verbose', '--no-progress'])
        verbose = capsys.readouterr().out
    finally:
        torch.set_num_threads(previous_threads)
        shutil.rmtree(work_dir, ignore_errors=True)
    # 2 x 8 images x 5 captions in batches of 16: 5 batches, a line per 10 % step that a batch reaches.
    assert out.count(' batches, ') == 5 and 'Test 100% 5/5 batches' in out
    assert out.index('Test 100% 5/5 batches') < out.index('| synth_a |')
    for line in STARTUP_REPORT:
        assert line not in out and line in log_text and line in verbose
    assert len(out.splitlines()) < 40 < len(verbose.splitlines())


def test_no_progress_flag_and_hook_added_once():
    tool = load_script()
    assert tool.parse_args(['c.py', 'k.pth', '--no-progress']).no_progress
    assert not tool.parse_args(['c.py', 'k.pth']).no_progress

    cfg = Config(dict(custom_hooks=[dict(type='MessageHubStateHook')]))
    tool.add_progress_hook(cfg)
    tool.add_progress_hook(cfg)
    assert [hook['type'] for hook in cfg.custom_hooks] == ['MessageHubStateHook', 'EvalProgressHook']

    scoped = Config(dict(custom_hooks=[dict(type='zerovl.EvalProgressHook', interval_percent=25)]))
    tool.add_progress_hook(scoped)
    assert len(scoped.custom_hooks) == 1  # the config's own settings are kept

    bare = Config(dict())
    tool.add_progress_hook(bare)
    assert bare.custom_hooks == [dict(type='EvalProgressHook')]
