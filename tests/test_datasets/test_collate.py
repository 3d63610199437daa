import pytest
import torch

from zerovl.datasets import image_text_collate
from zerovl.registry import FUNCTIONS


def sample(height=4, width=4, length=6, idx=0):
    return dict(inputs=dict(images=torch.zeros(3, height, width, dtype=torch.uint8),
                            input_ids=torch.arange(length), attention_mask=torch.ones(length, dtype=torch.long)),
                data_samples=dict(image_id=f'img{idx}', sample_idx=idx))


def test_stacks_tensors_and_lists_metadata():
    batch = image_text_collate([sample(idx=i) for i in range(3)])
    assert batch['inputs']['images'].shape == (3, 3, 4, 4) and batch['inputs']['images'].dtype == torch.uint8
    assert batch['inputs']['input_ids'].shape == (3, 6) and batch['inputs']['input_ids'].dtype == torch.long
    assert batch['inputs']['attention_mask'].shape == (3, 6)
    assert batch['data_samples'] == [dict(image_id=f'img{i}', sample_idx=i) for i in range(3)]


def test_images_of_different_sizes_name_the_shapes():
    with pytest.raises(ValueError) as error:
        image_text_collate([sample(), sample(), sample(height=5)])
    message = str(error.value)
    assert "'images'" in message and '(3, 4, 4) at samples [0, 1]' in message and '(3, 5, 4) at samples [2]' in message


def test_registered_under_the_zerovl_scope():
    from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
    assert FUNCTIONS.get('image_text_collate') is image_text_collate
    # mmengine's Runner asks its root registry, which needs the scope prefix.
    assert MMENGINE_FUNCTIONS.get('zerovl.image_text_collate') is image_text_collate
