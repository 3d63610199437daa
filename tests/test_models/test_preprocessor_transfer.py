"""The data preprocessor copies batches with non_blocking=True (asynchronous from the pinned memory the
GPU configs' dataloaders give it) and the result is the blocking copy's."""
from unittest import mock

import pytest
import torch
from mmengine.config import Config

from zerovl.models import ImageTextDataPreprocessor


def batch():
    gen = torch.Generator().manual_seed(0)
    return dict(inputs=dict(images=torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8, generator=gen),
                            input_ids=torch.randint(0, 9, (2, 5), generator=gen),
                            attention_mask=torch.ones(2, 5, dtype=torch.long)),
                data_samples=[{}, {}])


def recorded_copies(preprocessor):
    calls = []
    original = torch.Tensor.to

    def to(self, *args, **kwargs):
        calls.append(kwargs.get('non_blocking'))
        return original(self, *args, **kwargs)

    with mock.patch.object(torch.Tensor, 'to', to):
        out = preprocessor(batch(), True)
    return out, calls


def test_batches_are_copied_non_blocking_with_the_same_result():
    out, calls = recorded_copies(ImageTextDataPreprocessor())
    blocking_out, blocking_calls = recorded_copies(ImageTextDataPreprocessor(non_blocking=False))
    assert calls.count(True) == 3 and True not in blocking_calls  # images, input_ids, attention_mask
    for key in out['inputs']:
        torch.testing.assert_close(out['inputs'][key], blocking_out['inputs'][key], rtol=0, atol=0)


@pytest.mark.parametrize('config', ['configs/zerovl/zerovl_14m.py', 'configs/finetune/zerovl_coco_ft.py',
                                    'configs/finetune/zerovl_f30k_ft.py'])
def test_gpu_configs_pin_their_batches(config):
    cfg = Config.fromfile(config)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].get('pin_memory') is True, f'{config}: {loader}.pin_memory'
