"""ImageTextDataPreprocessor: uint8 batches become (x - mean) / std on the model's device, in the buffers'
dtype, and DGA can take them still in uint8."""
import pytest
import torch

from zerovl.models.data_preprocessor import ImageTextDataPreprocessor


def batch():
    gen = torch.Generator().manual_seed(0)
    return dict(inputs=dict(images=torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8, generator=gen),
                            input_ids=torch.ones(2, 5, dtype=torch.long)),
                data_samples=[dict(image_id=1), dict(image_id=2)])


def test_images_are_normalised_per_channel():
    preprocessor = ImageTextDataPreprocessor(mean=(10.0, 20.0, 30.0), std=(2.0, 4.0, 5.0))
    data = batch()
    out = preprocessor(data, training=True)
    expected = (data['inputs']['images'].float() - torch.tensor([10.0, 20.0, 30.0]).view(1, 3, 1, 1)) \
        / torch.tensor([2.0, 4.0, 5.0]).view(1, 3, 1, 1)
    torch.testing.assert_close(out['inputs']['images'], expected)
    assert torch.equal(out['inputs']['input_ids'], data['inputs']['input_ids'])
    assert out['data_samples'] is data['data_samples']  # per-sample metadata stay on the host, untouched


def test_without_normalisation_the_images_stay_uint8():
    out = ImageTextDataPreprocessor()(batch(), training=True, normalize=False)
    assert out['inputs']['images'].dtype == torch.uint8


def test_normalisation_follows_the_buffers_dtype():
    preprocessor = ImageTextDataPreprocessor().double()
    assert preprocessor(batch())['inputs']['images'].dtype == torch.float64


def test_mean_and_std_need_three_values():
    with pytest.raises(ValueError, match='3 values'):
        ImageTextDataPreprocessor(mean=(0.5,), std=(0.5,))
