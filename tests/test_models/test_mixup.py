"""Coin-flipping mixup: the decision sequence, its statistics, and where the mixing happens."""
import numpy as np
import pytest
import torch

from zerovl.models.heads import l2_normalize
from zerovl.models.mixup import CoinFlipMixup, MixDecision, block_reversal
from zerovl.registry import MODELS
from zerovl.utils import register_all_modules


def test_decisions_are_a_function_of_seed_and_step_and_the_counter_is_checkpointed():
    a, b = CoinFlipMixup(seed=7), CoinFlipMixup(seed=7)
    assert [a.sample() for _ in range(5)] == [b.sample() for _ in range(5)]  # two ranks agree
    assert a.state_dict()['step'].item() == 5
    resumed = CoinFlipMixup(seed=7)
    resumed.load_state_dict(a.state_dict())
    assert resumed.sample() == a.decision_at(5)
    assert CoinFlipMixup(seed=8).decision_at(0) != a.decision_at(0)


def test_coin_is_fair_and_mixes_exactly_one_modality():
    mixup = CoinFlipMixup(beta=0.1)
    decisions = [mixup.decision_at(step) for step in range(4000)]
    assert all(d.mix_image != d.mix_text for d in decisions)
    images = sum(d.mix_image for d in decisions)
    assert abs(images - 2000) < 4 * np.sqrt(4000 * 0.25)


def test_lambda_follows_beta_0_1():
    lams = np.array([CoinFlipMixup(beta=0.1).decision_at(step).lam for step in range(20000)])
    # Beta(0.1, 0.1): mean 1/2, variance 1/(4(2β+1)) = 0.2083; U-shaped, E[min(λ, 1-λ)] ≈ 0.058.
    assert abs(lams.mean() - 0.5) < 0.015
    assert abs(lams.var() - 1 / (4 * 1.2)) < 0.01
    assert abs(np.minimum(lams, 1 - lams).mean() - 0.058) < 0.006


@pytest.mark.parametrize('mode,image,text', [('image', True, False), ('text', False, True), ('both', True, True)])
def test_forced_modes(mode, image, text):
    decision = CoinFlipMixup(mode=mode).decision_at(3)
    assert (decision.mix_image, decision.mix_text) == (image, text)


def test_invalid_configuration_is_named():
    with pytest.raises(ValueError, match='model.mixup.mode'):
        CoinFlipMixup(mode='sometimes')
    with pytest.raises(ValueError, match='model.mixup.beta'):
        CoinFlipMixup(beta=0)


@pytest.mark.parametrize('n,block', [(8, 8), (8, 4), (12, 3)])
def test_soft_targets_are_symmetric_with_rows_summing_to_one(n, block):
    for decision in (MixDecision(0.3, True, False), MixDecision(0.3, True, True)):
        partner = block_reversal(n, block)
        targets = torch.zeros(n, n, dtype=torch.float64)
        targets[torch.arange(n), torch.arange(n)] += decision.target_weight
        targets[torch.arange(n), partner] += 1 - decision.target_weight
        torch.testing.assert_close(targets, targets.t())
        torch.testing.assert_close(targets.sum(1), torch.ones(n, dtype=torch.float64))
        # Partners stay inside their block (a DGA sub-batch).
        assert torch.equal(partner // block, torch.arange(n) // block)


def tiny_encoder():
    register_all_modules()
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='DualEncoder', embed_dim=8,
        image_tower=dict(type='TimmImageTower', model_name='test_resnet'),
        text_tower=dict(type='HFTextTower', pretrained=False, config=dict(
            model_type='bert', vocab_size=30, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
            intermediate_size=32, max_position_embeddings=8)))).eval()


def inputs(n=4):
    gen = torch.Generator().manual_seed(0)
    return dict(images=torch.randn(n, 3, 32, 32, generator=gen), input_ids=torch.randint(0, 30, (n, 6), generator=gen),
                attention_mask=torch.ones(n, 6, dtype=torch.long))


def test_image_mixup_mixes_pixels_and_text_mixup_mixes_projected_text_before_normalisation():
    model, batch, lam = tiny_encoder(), inputs(), 0.3
    with torch.no_grad():
        plain_images, plain_texts = model.embed(batch)
        mixed_images, same_texts = model.embed(batch, MixDecision(lam, True, False))
        expected = model.encode_image(lam * batch['images'] + (1 - lam) * batch['images'].flip(0))
        torch.testing.assert_close(mixed_images, expected)
        torch.testing.assert_close(same_texts, plain_texts)

        same_images, mixed_texts = model.embed(batch, MixDecision(lam, False, True))
        projected = model.encode_text(batch['input_ids'], batch['attention_mask'], normalize=False)
        torch.testing.assert_close(mixed_texts, l2_normalize(lam * projected + (1 - lam) * projected.flip(0)))
        torch.testing.assert_close(same_images, plain_images)
        # λ = 1 is no mixing at all.
        for got, want in zip(model.embed(batch, MixDecision(1.0, True, True)), (plain_images, plain_texts)):
            torch.testing.assert_close(got, want)


def test_the_step_is_read_from_the_buffer_once_and_again_after_a_load():
    from zerovl.testing.host_sync import forbid_host_sync
    mixup = CoinFlipMixup(seed=7)
    mixup.sample()
    with forbid_host_sync():  # on a GPU, reading the buffer each step would wait for the last step
        second = mixup.sample()
    assert second == mixup.decision_at(1) and int(mixup.step) == 2
    mixup.load_state_dict(CoinFlipMixup(seed=7).state_dict())  # back to step 0, as a resume would
    assert mixup.sample() == mixup.decision_at(0)
