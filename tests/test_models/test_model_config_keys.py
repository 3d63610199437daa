"""Config keys of the model are checked where zerovl owns the schema (issue 14, item 7): a typo is an
error that names the full key and the nearest valid one, not a silently ignored entry."""
import pytest
from mmengine.config import Config

from zerovl.registry import MODELS
from zerovl.utils import register_all_modules
from zerovl.utils.schema import ConfigKeyError, check_keys

DEMO = 'configs/zerovl/zerovl_demo.py'


def demo_model(options: dict):
    """The demo's model config with ``--cfg-options``-style overrides, on a tiny image tower."""
    cfg = Config.fromfile(DEMO)
    cfg.merge_from_dict(options)
    cfg.model.image_tower = dict(type='TimmImageTower', model_name='test_resnet', pretrained=False)
    return cfg.model


@pytest.mark.parametrize('options, message', [
    # The case: merged next to the real key, so the old sub-batch would train on, exit 0.
    ({'model.dga.sub_batch': 16}, "model.dga.sub_batch: unknown key (did you mean 'sub_batch_size'?)"),
    ({'model.mixup.bta': 0.2}, "model.mixup.bta: unknown key (did you mean 'beta'?)"),
    ({'model.loss.gather_with_gard': False}, "model.loss.gather_with_gard: unknown key (did you mean "
                                             "'gather_with_grad'?)"),
    ({'model.loss.temperature.learnabel': True}, "model.loss.temperature.learnabel: unknown key (did you mean "
                                                 "'learnable'?)"),
])
def test_a_misspelt_model_key_is_refused_with_the_nearest_name(options, message):
    register_all_modules()
    with pytest.raises(ConfigKeyError) as error:
        MODELS.build(demo_model(options))
    assert str(error.value).startswith(message)


def test_valid_keys_are_listed_and_far_off_ones_get_no_guess():
    with pytest.raises(ConfigKeyError) as error:
        check_keys({'zzz': 1}, ('sub_batch_size',), 'model.dga')
    assert str(error.value) == 'model.dga.zzz: unknown key; valid keys: sub_batch_size'
    check_keys({'sub_batch_size': 8}, ('sub_batch_size',), 'model.dga')  # a known key passes


def test_a_non_integer_sub_batch_size_is_refused():
    register_all_modules()
    with pytest.raises(ValueError, match='model.dga.sub_batch_size must be a positive integer'):
        MODELS.build(demo_model({'model.dga.sub_batch_size': 16.5}))
