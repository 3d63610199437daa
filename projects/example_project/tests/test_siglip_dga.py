"""SigLIPLoss inside DualEncoder: decoupled gradient accumulation gives exactly the large-batch gradient,
the loss's learned scale and bias included, with the project's GroupNorm tower (BatchNorm would not)."""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper

import projects.example_project.example_project  # noqa: F401  (registers the tower and the loss)
from zerovl.registry import MODELS
from zerovl.utils import register_all_modules

BATCH, SIZE, LENGTH, VOCAB = 8, 16, 6, 40
LOSS_PARAMS = ('loss_module.log_scale', 'loss_module.bias')


def tiny_model(mixup=None):
    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='DualEncoder', embed_dim=8, mixup=mixup,
        image_tower=dict(type='CompactConvTower', widths=(8, 16), depths=(1, 1), norm_groups=4),
        text_tower=dict(type='HFTextTower', pretrained=False, pooling='mean', config=dict(
            model_type='bert', vocab_size=VOCAB, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
            intermediate_size=32, max_position_embeddings=8, hidden_dropout_prob=0.1,
            attention_probs_dropout_prob=0.1)),
        loss=dict(type='SigLIPLoss', scale_init=4.0, bias_init=-1.0)))
    return model.double().train()


def make_batch():
    gen = torch.Generator().manual_seed(1)
    return dict(inputs=dict(
        images=torch.randint(0, 256, (BATCH, 3, SIZE, SIZE), dtype=torch.uint8, generator=gen),
        input_ids=torch.randint(5, VOCAB, (BATCH, LENGTH), generator=gen),
        attention_mask=torch.ones(BATCH, LENGTH, dtype=torch.long)), data_samples=[{} for _ in range(BATCH)])


class GradCapture(OptimWrapper):
    """Keeps the gradients seen at the optimizer step (DGA zeroes them right after); lr 0 leaves the
    weights as they were."""

    def step(self, **kwargs):
        self.grads = {name: p.grad.clone() for name, p in self.named if p.grad is not None}
        super().step(**kwargs)


def captured_step(model):
    wrapper = GradCapture(optimizer=torch.optim.SGD(model.parameters(), lr=0.0))
    wrapper.named = list(model.named_parameters())
    torch.manual_seed(123)
    log_vars = model.train_step(make_batch(), wrapper)
    return log_vars, wrapper.grads


def large_batch_gradients(model, sub_batch_size):
    """By definition: each sub-batch embedded with its graph (the RNG order and mixing blocks of DGA's
    first pass), one loss over the whole batch, one backward."""
    torch.manual_seed(123)
    inputs = model.data_preprocessor(make_batch(), True)['inputs']
    mix = model.mixup.sample() if model.mixup is not None else None
    chunks = [model.embed({k: v[s:s + sub_batch_size] for k, v in inputs.items()}, mix)
              for s in range(0, BATCH, sub_batch_size)]
    images, texts = (torch.cat(side) for side in zip(*chunks))
    loss = model.contrastive_loss(images, texts, mix, block=sub_batch_size)
    loss.backward()
    return loss.item(), {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize('mixup', [None, dict(type='CoinFlipMixup', beta=1.0, mode='image'),
                                   dict(type='CoinFlipMixup', beta=1.0, mode='text')])
def test_dga_equals_the_large_batch_gradient(one_thread, mixup):
    model = tiny_model(mixup)
    expected_loss, expected = large_batch_gradients(copy.deepcopy(model), 4)
    model.dga = dict(sub_batch_size=4)
    log_vars, grads = captured_step(model)
    assert log_vars['loss'].item() == pytest.approx(expected_loss, rel=1e-12)
    assert set(LOSS_PARAMS) <= grads.keys()  # scale and bias learn under DGA too, from the full loss once
    assert grads.keys() == expected.keys()
    for name, grad in expected.items():
        torch.testing.assert_close(grads[name], grad, rtol=1e-9, atol=1e-12, msg=name)


def test_plain_step_logs_the_inverse_scale_as_temperature(one_thread):
    log_vars, grads = captured_step(tiny_model())
    assert log_vars['temperature'].item() == pytest.approx(1 / 4.0, rel=1e-6)
    assert all(grads[name].abs().item() > 0 for name in LOSS_PARAMS)
