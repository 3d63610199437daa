"""DualEncoder's MMEngine interface: the three forward modes, what each returns, and how mixing enters the
embeddings and the loss. The large-batch exactness of its DGA step is tests/test_models/test_dga.py."""
import pytest
import torch

from zerovl.models.mixup import MixDecision, mix_with_reversed
from zerovl.registry import MODELS
from zerovl.utils import register_all_modules

N, SIZE, LENGTH, VOCAB = 4, 32, 6, 40


@pytest.fixture(scope='module')
def model():
    register_all_modules()
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='DualEncoder', embed_dim=8,
        image_tower=dict(type='TimmImageTower', model_name='test_vit', img_size=SIZE, patch_size=8),
        text_tower=dict(type='HFTextTower', pretrained=False, config=dict(
            model_type='bert', vocab_size=VOCAB, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
            intermediate_size=32, max_position_embeddings=16, hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0)))).double().eval()


@pytest.fixture
def inputs(model):
    gen = torch.Generator().manual_seed(1)
    batch = dict(inputs=dict(images=torch.randint(0, 256, (N, 3, SIZE, SIZE), dtype=torch.uint8, generator=gen),
                             input_ids=torch.randint(5, VOCAB, (N, LENGTH), generator=gen),
                             attention_mask=torch.ones(N, LENGTH, dtype=torch.long)))
    return model.data_preprocessor(batch, False)['inputs']


def test_tensor_mode_gives_unit_embeddings_of_both_towers(model, inputs):
    images, texts = model(inputs, mode='tensor')
    assert images.shape == texts.shape == (N, 8)
    torch.testing.assert_close(images.norm(dim=1), torch.ones(N, dtype=images.dtype))
    torch.testing.assert_close(texts.norm(dim=1), torch.ones(N, dtype=texts.dtype))
    torch.testing.assert_close(images, model.encode_image(inputs['images']))


def test_predict_mode_gives_one_host_record_per_sample(model, inputs):
    samples = [dict(image_id=i, caption_id=10 + i) for i in range(N)]
    records = model(inputs, samples, mode='predict')
    images, _ = model(inputs, mode='tensor')
    assert [record['caption_id'] for record in records] == [10, 11, 12, 13]
    assert all(record['image_embed'].device.type == 'cpu' for record in records)
    torch.testing.assert_close(torch.stack([record['image_embed'] for record in records]), images)


def test_loss_mode_is_the_symmetric_infonce_of_the_embeddings(model, inputs):
    losses = model(inputs, mode='loss')
    images, texts = model(inputs, mode='tensor')
    logits = images @ texts.T / losses['temperature']
    targets = torch.arange(N)
    expected = 0.5 * (torch.nn.functional.cross_entropy(logits, targets)
                      + torch.nn.functional.cross_entropy(logits.T, targets))
    torch.testing.assert_close(losses['loss'], expected)


def test_image_mixing_mixes_pixels_and_softens_the_targets(model, inputs):
    mix = MixDecision(lam=0.7, mix_image=True, mix_text=False)
    images, texts = model.embed(inputs, mix)
    torch.testing.assert_close(images, model.encode_image(mix_with_reversed(inputs['images'], 0.7)))
    torch.testing.assert_close(texts, model(inputs, mode='tensor')[1])  # texts untouched
    soft = model.contrastive_loss(images, texts, mix, block=N)
    hard = model.contrastive_loss(images, texts, None, block=N)
    assert not torch.isclose(soft, hard)


def test_an_unknown_mode_names_the_valid_ones(model, inputs):
    with pytest.raises(ValueError, match='loss, predict or tensor'):
        model(inputs, mode='features')
