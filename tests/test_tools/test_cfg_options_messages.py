"""A ``--cfg-options`` value of the wrong type is refused at once, naming the key, the config and the type
expected (MMEngine's DictAction keeps ``lr=fast`` as the string 'fast', which failed far from its cause)."""
import pytest
from mmengine.config import DictAction

from zerovl.testing import load_script
from zerovl.utils import load_config
from zerovl.utils.config_overrides import ConfigOverrideError

DEMO = 'configs/zerovl/zerovl_demo.py'


def overrides(*pairs):
    """What ``--cfg-options PAIRS`` gives a tool."""
    namespace = type('Namespace', (), {})()
    DictAction(option_strings=['--cfg-options'], dest='cfg_options')(None, namespace, list(pairs))
    return namespace.cfg_options


@pytest.mark.parametrize('pair, key, expected', [
    ('optim_wrapper.optimizer.lr=fast', 'optim_wrapper.optimizer.lr', 'a float'),
    ('train_cfg.max_epochs=two', 'train_cfg.max_epochs', 'an int'),
])
def test_string_for_a_number_names_the_key_and_the_type(pair, key, expected):
    with pytest.raises(ConfigOverrideError) as error:
        load_config(DEMO, overrides(pair))
    message = str(error.value)
    assert f'--cfg-options {pair}' in message and DEMO in message
    assert f'{key} must be {expected}' in message


@pytest.mark.parametrize('tool', ['tools/train.py', 'tools/test.py'])
def test_tools_stop_with_the_message_not_a_traceback(tool, tmp_path):
    args = [DEMO, '--work-dir', str(tmp_path), '--cfg-options', 'train_cfg.max_epochs=two']
    with pytest.raises(SystemExit, match='train_cfg.max_epochs must be an int'):
        load_script(tool).main(args)


def test_well_typed_new_and_list_overrides_still_merge():
    cfg = load_config(DEMO, overrides('optim_wrapper.optimizer.lr=1e-3', 'train_cfg.max_epochs=3',
                                      'train_dataloader.batch_size=16', 'model.new_key=anything',
                                      'load_from=some/checkpoint.pth', 'param_scheduler.0.by_epoch=False'))
    assert cfg.optim_wrapper.optimizer.lr == 1e-3 and cfg.train_cfg.max_epochs == 3
    assert cfg.train_dataloader.batch_size == 16 and cfg.model.new_key == 'anything'
    assert cfg.load_from == 'some/checkpoint.pth' and cfg.param_scheduler[0].by_epoch is False
