"""configs/reproduction_real/: the study's base arm and its zero-shot test agree with the converter's layout."""
from mmengine.config import Config

from zerovl.datasets.converters.emoji_sources import SOURCES, ZERO_SHOT_GROUPS

BASE = 'configs/reproduction_real/lite0_minilm_sources.py'
ZERO_SHOT = 'configs/reproduction_real/zero_shot_left_out.py'


def test_base_arm_trains_two_sources_and_evaluates_all_three_with_the_left_out_last():
    cfg = Config.fromfile(BASE)
    train = [d['name'] for d in cfg.train_dataloader.dataset.datasets]
    evaluated = [d['name'] for d in cfg.val_dataloader.dataset.datasets]
    assert train == ['google', 'twitter'] and evaluated == list(SOURCES) and evaluated[-1] not in train
    # The baseline of every experiment: shuffled batches, no mixup, no DGA, constant 0.02.
    assert cfg.train_dataloader.batch_sampler.mode == 'shuffle' and 'mixup' not in cfg.model and 'dga' not in cfg.model
    assert cfg.model.loss.temperature == dict(init=0.02, learnable=False)
    # The zero-shot test reads the checkpoint saved at the run's end.
    assert cfg.default_hooks.checkpoint.interval == cfg.train_cfg.max_iters


def test_zero_shot_classes_are_the_converters_groups_in_label_order():
    cfg = Config.fromfile(ZERO_SHOT)
    assert tuple(cfg.model.classnames) == ZERO_SHOT_GROUPS
    assert cfg.model.type == 'ZeroShotClassifier' and cfg.get('train_dataloader') is None  # evaluation only
    datasets = cfg.test_dataloader.dataset.datasets
    assert [d['ann_file'] for d in datasets] == ['train_groups.txt', 'valid_groups.txt']
    assert {d['data_root'] for d in datasets} == {'data/emoji_sources/openmoji'}


def test_the_runner_knows_the_base_configs_schedule():
    from zerovl.testing import load_script
    real = load_script('tools/analysis_tools/reproduce_real.py')
    assert real.MAX_ITERS == Config.fromfile(BASE).train_cfg.max_iters  # names the checkpoint zero-shot reads
