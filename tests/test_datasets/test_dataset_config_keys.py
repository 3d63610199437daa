"""Config keys of the sampler and the datasets are checked (issue 14, item 7), and DGA's sub-batch
against the batch size when the train loop is built, before any sample is read."""
import pytest
from mmengine.runner import Runner

from zerovl.datasets.image_text import ImageTextDataset
from zerovl.datasets.samplers import DebiasedBatchSampler
from zerovl.testing.tiny_config import tiny_demo_config
from zerovl.utils import register_all_modules
from zerovl.utils.schema import ConfigKeyError


class Sized:
    """The least a DebiasedBatchSampler needs of its wrapped sampler."""
    dataset = list(range(8))
    seed = 0


def test_a_misspelt_sampler_key_names_the_config_key():
    with pytest.raises(ConfigKeyError, match=r"^train_dataloader\.batch_sampler\.mdoe: unknown key "
                                             r"\(did you mean 'mode'\?\)"):
        DebiasedBatchSampler(Sized(), batch_size=4, mdoe='shuffle')


def test_a_misspelt_dataset_key_names_the_dataset_and_the_nearest_key(tmp_path):
    with pytest.raises(ConfigKeyError, match=r"^ImageTextDataset\(name='cc3m'\)\.on_eror: unknown key "
                                             r"\(did you mean 'on_error'\?\)"):
        ImageTextDataset(str(tmp_path), 'cc3m', on_eror='skip', lazy_init=True)


def fail_on_read(*args):
    raise AssertionError('a sample was read before the start-up checks')


def test_a_sub_batch_that_does_not_divide_the_batch_is_refused_before_reading(synthetic_root, short_work_dir,
                                                                            monkeypatch):
    register_all_modules()
    cfg = tiny_demo_config(synthetic_root, short_work_dir, batch_size=8)
    cfg.model.dga.sub_batch_size = 3
    monkeypatch.setattr(ImageTextDataset, '__getitem__', fail_on_read)
    with pytest.raises(ValueError, match=r'model\.dga\.sub_batch_size=3 does not divide '
                                         r'train_dataloader\.batch_size=8'):
        Runner.from_cfg(cfg).train()
