"""SigLIPLoss on one process: values against a pair-by-pair reference, mixup targets, gradients, parameters."""
import math

import pytest
import torch

from projects.example_project.example_project import SigLIPLoss, sigmoid_targets
from zerovl.models import block_reversal
from zerovl.models.heads import l2_normalize

B, D = 5, 4  # an odd batch: reversal leaves the middle image as its own mixup partner


def embeddings(seed=0):
    gen = torch.Generator().manual_seed(seed)
    images = l2_normalize(torch.randn(B, D, generator=gen, dtype=torch.float64))
    texts = l2_normalize(torch.randn(B, D, generator=gen, dtype=torch.float64))
    return images, texts


def log_sigmoid(x: float) -> float:
    """log σ(x) in plain floats, stable for either sign."""
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


def scale_and_bias(loss):
    """The module's t and b as floats: initialised in float32, so t is 10 only to float32 precision."""
    return loss.log_scale.exp().item(), loss.bias.item()


def reference_loss(images, texts, scale, bias, target=None):
    """The paper's sum written out pair by pair. ``target(i, j)`` in [0, 1] replaces the hard labels
    (1 on the diagonal) for mixup: -[p·log σ(l) + (1-p)·log σ(-l)]."""
    target = target or (lambda i, j: 1.0 if i == j else 0.0)
    total = 0.0
    for i in range(len(images)):
        for j in range(len(texts)):
            logit = scale * float(images[i] @ texts[j]) + bias
            p = target(i, j)
            total -= p * log_sigmoid(logit) + (1 - p) * log_sigmoid(-logit)
    return total / len(images)


def test_matches_pairwise_reference_at_init():
    images, texts = embeddings()
    loss = SigLIPLoss().double()
    assert scale_and_bias(loss) == pytest.approx((10.0, -10.0), rel=1e-6)
    expected = reference_loss(images, texts, *scale_and_bias(loss))
    assert loss(images, texts).item() == pytest.approx(expected, rel=1e-12)


def test_matches_reference_with_other_scale_and_bias():
    images, texts = embeddings(seed=1)
    loss = SigLIPLoss(scale_init=3.0, bias_init=0.5).double()
    expected = reference_loss(images, texts, *scale_and_bias(loss))
    assert loss(images, texts).item() == pytest.approx(expected, rel=1e-12)
    assert loss.temperature().item() == pytest.approx(1 / 3.0, rel=1e-6)


@pytest.mark.parametrize('lam', [0.0, 0.3, 1.0])
def test_mixup_soft_targets_match_reference(lam):
    images, texts = embeddings(seed=2)
    partner = block_reversal(B, B)

    def target(i, j):
        return lam * (j == i) + (1 - lam) * (j == int(partner[i]))

    loss = SigLIPLoss(scale_init=5.0, bias_init=-2.0).double()
    expected = reference_loss(images, texts, *scale_and_bias(loss), target)
    assert loss(images, texts, mix=(lam, partner)).item() == pytest.approx(expected, rel=1e-12)


def test_mixup_targets_are_probabilities_summing_to_one_per_image():
    targets = sigmoid_targets(4, 12, offset=4, mix=(0.25, block_reversal(4, 4)))
    assert targets.min() >= 0 and targets.max() <= 1
    torch.testing.assert_close(targets.sum(dim=1), torch.ones(4))
    assert targets[0, 4].item() == 0.25 and targets[0, 7].item() == 0.75  # own text, partner's text
    # An odd batch's middle image is its own partner: both weights land on one cell.
    assert sigmoid_targets(3, 3, 0, mix=(0.25, block_reversal(3, 3)))[1, 1].item() == 1.0


def test_gradients_match_finite_differences():
    images, texts = embeddings(seed=3)
    loss = SigLIPLoss(scale_init=4.0, bias_init=-1.0).double()
    images.requires_grad_()
    texts.requires_grad_()
    partner = block_reversal(B, B)
    assert torch.autograd.gradcheck(lambda x, y: loss(x, y, mix=(0.7, partner)), (images, texts))
    loss(images, texts).backward()
    assert loss.log_scale.grad is not None and loss.bias.grad is not None


def test_fixed_scale_and_bias_are_buffers():
    loss = SigLIPLoss(learnable=False)
    assert not list(loss.parameters())
    assert set(dict(loss.named_buffers())) == {'log_scale', 'bias'}


def test_bad_inputs_name_the_problem():
    images, texts = embeddings()
    with pytest.raises(ValueError, match='differ in shape'):
        SigLIPLoss()(images, texts[:3])
    with pytest.raises(ValueError, match='partner must index the 5 local images'):
        SigLIPLoss().double()(images, texts, mix=(0.5, torch.arange(4)))
    with pytest.raises(ValueError, match='scale_init must be positive'):
        SigLIPLoss(scale_init=0.0)
