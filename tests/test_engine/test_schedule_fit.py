"""Schedules that cannot stall (issue 14, item 6): positions follow train_cfg, and a schedule that never
reaches its peak or does not fit the run is refused at start-up, naming the key."""
import glob
import warnings

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from zerovl.engine.schedules import RunLength, ScheduleError, check_param_schedulers, resolve_param_schedulers
from zerovl.engine.schedules.check import build_on_probe
from zerovl.testing.tiny_config import tiny_demo_config
from zerovl.utils import register_all_modules

DEMO = 'configs/zerovl/zerovl_demo.py'
SHIPPED = sorted(path for path in glob.glob('configs/**/*.py', recursive=True) + glob.glob('projects/*/configs/*.py')
                 if '_base_' not in path)


def lr_per_iteration(schedulers, run: RunLength, base_lr: float):
    """The lr of every training iteration, stepping as ParamSchedulerHook does (all iteration-based here)."""
    optimizer, built = build_on_probe(schedulers, run, base_lr)
    lrs = []
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for _ in range(run.iters):
            lrs.append(optimizer.param_groups[0]['lr'])
            optimizer.step()
            for scheduler in built:
                scheduler.step()
    return lrs, built


def test_demo_on_96_pairs_reaches_its_peak_and_ends_with_the_run():
    """The issue's case: 96 pairs, batch 32, 3 epochs = 9 iterations; half an epoch of warm-up was 1.5."""
    cfg = Config.fromfile(DEMO)
    cfg.merge_from_dict({'train_cfg.max_epochs': 3})
    run = RunLength(iters=9, epoch_length=3)
    schedulers = resolve_param_schedulers(cfg.param_scheduler, run)
    check_param_schedulers(schedulers, run, base_lr=1e-3)
    lrs, (warmup, cosine) = lr_per_iteration(schedulers, run, 1e-3)
    assert (warmup.begin, warmup.end, cosine.begin, cosine.end) == (0, 2, 2, 9)
    assert max(lrs) == pytest.approx(1e-3) and lrs[1] == pytest.approx(1e-3)
    assert lrs[-1] < 2e-4  # the cosine reaches its floor (0.1 x peak) at the run's end, not later


@pytest.mark.parametrize('path', SHIPPED)
def test_every_shipped_schedule_follows_train_cfg(path):
    """Overriding the run's length moves every schedule's warm-up and end with it, and the result passes."""
    cfg = Config.fromfile(path)
    if not cfg.get('param_scheduler') or not cfg.get('train_cfg'):
        pytest.skip(f'{path} trains no schedule')
    epoch_length = 5
    if 'max_iters' in cfg.train_cfg:
        cfg.merge_from_dict({'train_cfg.max_iters': 40})
        run = RunLength(iters=40, epoch_length=epoch_length)
    else:
        cfg.merge_from_dict({'train_cfg.max_epochs': 3})
        run = RunLength(iters=3 * epoch_length, epoch_length=epoch_length)
    base_lr = cfg.optim_wrapper.get('optimizer', {}).get('lr', 1.0)
    schedulers = resolve_param_schedulers(cfg.param_scheduler, run)
    check_param_schedulers(schedulers, run, base_lr=base_lr)
    _, built = build_on_probe(schedulers, run, base_lr)
    assert max(s.end for s in built) == run.iters


def epoch_schedule(warmup_end, cosine_end, start_factor=1e-3, end_factor=1.0):
    return [dict(type='LinearLR', start_factor=start_factor, end_factor=end_factor, by_epoch=True, begin=0,
                 end=warmup_end, convert_to_iter_based=True),
            dict(type='CosineAnnealingLR', eta_min_ratio=0.1, by_epoch=True, begin=warmup_end, end=cosine_end,
                 convert_to_iter_based=True)]


@pytest.mark.parametrize('schedulers, key, reason', [
    (epoch_schedule(0.5, 3), 'param_scheduler[0].end', 'never completes'),      # 1.5 iterations -> 1
    (epoch_schedule(0.2, 3), 'param_scheduler[0].end', 'spans no step'),        # 0.6 iterations -> 0
    (epoch_schedule(1, 6), 'param_scheduler[1].end', 'ends after the run'),    # a stale max_epochs
    (epoch_schedule(1, 2), 'param_scheduler[1].end', 'before the run ends'),
    (epoch_schedule(1, 3, end_factor=0.5), 'param_scheduler[0].end', 'never reaches its peak'),
])
def test_stalling_schedules_are_refused_naming_the_key(schedulers, key, reason):
    with pytest.raises(ScheduleError) as error:
        check_param_schedulers(schedulers, RunLength(iters=9, epoch_length=3), base_lr=1e-3)
    assert str(error.value).startswith(key) and reason in str(error.value)


def test_a_runner_refuses_a_stalling_schedule_before_reading_a_batch(synthetic_root, short_work_dir, monkeypatch):
    """64 pairs at batch 32: a warm-up of half an epoch is one iteration, which never reaches the peak."""
    register_all_modules()
    cfg = tiny_demo_config(synthetic_root, short_work_dir, max_epochs=3, batch_size=32)
    cfg.param_scheduler = epoch_schedule(0.5, 3)
    monkeypatch.setattr('zerovl.datasets.image_text.ImageTextDataset.__getitem__', fail_on_read)
    with pytest.raises(ScheduleError, match=r'^param_scheduler\[0\]\.end'):
        Runner.from_cfg(cfg).train()


def fail_on_read(*args):
    raise AssertionError('a sample was read before the start-up checks')


def test_the_demo_recipe_reaches_its_peak_in_a_short_run(synthetic_root, short_work_dir, one_thread):
    """The demo's own schedule, 3 epochs of 2 iterations (64 pairs, batch 32): lr 1e-3 is reached."""
    register_all_modules()
    cfg = tiny_demo_config(synthetic_root, short_work_dir, max_epochs=3, batch_size=32)
    cfg.param_scheduler = Config.fromfile(DEMO).param_scheduler
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = None
    runner = Runner.from_cfg(cfg)
    runner.train()
    lrs = runner.message_hub.get_scalar('train/lr').data[0]
    assert len(lrs) == 6 and max(lrs) == pytest.approx(1e-3)


def test_a_smoke_run_too_short_for_the_cosine_keeps_a_complete_warm_up():
    """Two iterations: the warm-up takes both (it reaches the peak), the cosine has none left and is left
    out; one iteration cannot hold any warm-up and is refused."""
    cfg = Config.fromfile(DEMO)
    run = RunLength(iters=2, epoch_length=2)
    schedulers = resolve_param_schedulers(cfg.param_scheduler, run)
    assert schedulers[1] is None
    check_param_schedulers(schedulers, run, base_lr=1e-3)
    lrs, _ = lr_per_iteration(schedulers[:1], run, 1e-3)
    assert lrs[1] == pytest.approx(1e-3)
    with pytest.raises(ScheduleError, match=r'^param_scheduler\[0\]\.end: the linear warm-up'):
        check_param_schedulers(resolve_param_schedulers(cfg.param_scheduler, RunLength(1, 1)), RunLength(1, 1), 1e-3)
