"""Two runs that one process starts in the same second from configs of the same file name keep their
own logger, visualizer and files (MMEngine keys those by ``{experiment_name}_{timestamp}``)."""
import os.path as osp
import time
import types

import pytest
from mmengine.config import Config
from mmengine.runner import Runner
import mmengine.runner.runner as runner_module

from zerovl.testing.tiny_config import dump_tiny_demo
from zerovl.utils import load_config
from zerovl.utils.experiment_name import unique_experiment_name


@pytest.fixture
def one_second(monkeypatch):
    """Every runner built in the test starts at the same second, as two quick runs in a sweep do."""
    frozen = time.time()
    monkeypatch.setattr(runner_module, 'time', types.SimpleNamespace(
        time=lambda: frozen, strftime=time.strftime, localtime=time.localtime))


def two_runners(config_file, work_root, load):
    return [Runner.from_cfg(load(config_file, osp.join(work_root, name))) for name in ('first', 'second')]


def local_vis_dir(runner) -> str:
    return runner.visualizer.get_backend('LocalVisBackend')._save_dir


def test_names_are_numbered_after_their_first_use():
    assert [unique_experiment_name('sweep_arm') for _ in range(3)] == ['sweep_arm', 'sweep_arm_2', 'sweep_arm_3']
    assert unique_experiment_name('another_arm') == 'another_arm'


def test_runs_from_one_config_in_one_second_write_to_their_own_dirs(synthetic_root, short_work_dir, one_second):
    config_file, _, _ = dump_tiny_demo(synthetic_root, short_work_dir)
    first, second = two_runners(config_file, short_work_dir,
                                lambda path, work_dir: load_config(path, work_dir=work_dir))
    assert first.timestamp == second.timestamp
    for runner, name in ((first, 'first'), (second, 'second')):
        assert local_vis_dir(runner).startswith(osp.join(short_work_dir, name))
        assert runner.logger.log_file.startswith(osp.join(short_work_dir, name))
        assert osp.isfile(osp.join(runner.log_dir, 'vis_data', 'config.py'))
    assert first.visualizer is not second.visualizer and first.logger is not second.logger


def test_mmengine_alone_hands_the_second_run_the_first_runs_visualizer(synthetic_root, short_work_dir, one_second):
    """The negative control: without a numbered name, the second run logs into the first run's dirs."""
    config_file, _, _ = dump_tiny_demo(synthetic_root, short_work_dir)

    def plain_load(path, work_dir):
        cfg = Config.fromfile(path)
        cfg.work_dir = work_dir
        return cfg
    with pytest.warns(UserWarning, match='has been created'):  # MMEngine's only sign of it
        first, second = two_runners(config_file, short_work_dir, plain_load)
    assert second.visualizer is first.visualizer
    assert local_vis_dir(second).startswith(osp.join(short_work_dir, 'first'))
