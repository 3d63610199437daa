"""DGA gives exactly the gradient of the large batch: every parameter, a learnable temperature, dropout,
mixup, 1/2/4 sub-batches, and across 2 gloo processes with no_sync."""
import copy
from unittest import mock

import pytest
import torch
from mmengine.optim import OptimWrapper

from zerovl.engine import ZeroVLDistributedDataParallel
from zerovl.registry import MODELS
from zerovl.testing import run_distributed
from zerovl.utils import register_all_modules
from zerovl.utils.rng import RngState

BATCH, SIZE, LENGTH, VOCAB = 8, 32, 7, 50
# Exactness holds on any device; on a GPU machine the equivalence also runs there (CUDA dropout and RNG).
DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


def tiny_model(dropout=0.1, mixup=None, dga=None, learnable_tau=True, device='cpu'):
    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='DualEncoder', embed_dim=16, mixup=mixup, dga=dga,
        image_tower=dict(type='TimmImageTower', model_name='test_vit', img_size=SIZE, patch_size=8,
                         drop_rate=dropout, proj_drop_rate=dropout, attn_drop_rate=dropout),
        text_tower=dict(type='HFTextTower', pretrained=False, config=dict(
            model_type='bert', vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
            intermediate_size=64, max_position_embeddings=16, hidden_dropout_prob=dropout,
            attention_probs_dropout_prob=dropout)),
        loss=dict(type='InfoNCELoss', temperature=dict(init=0.05, learnable=learnable_tau))))
    return model.double().to(device).train()


def make_batch(n=BATCH, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return dict(inputs=dict(
        images=torch.randint(0, 256, (n, 3, SIZE, SIZE), dtype=torch.uint8, generator=gen),
        input_ids=torch.randint(5, VOCAB, (n, LENGTH), generator=gen),
        attention_mask=torch.ones(n, LENGTH, dtype=torch.long)), data_samples=[{} for _ in range(n)])


class GradCapture(OptimWrapper):
    """Records the gradients at the optimizer step (DGA zeroes them right after)."""

    def step(self, **kwargs):
        self.grads = {name: p.grad.clone() for name, p in self.named if p.grad is not None}
        super().step(**kwargs)


def capture_wrapper(model):
    wrapper = GradCapture(optimizer=torch.optim.SGD(model.parameters(), lr=0.0))
    wrapper.named = list(model.named_parameters())
    return wrapper


def reference_gradients(model, batch, sub_batch_size, seed=123):
    """The large-batch gradient by definition: every sub-batch embedded with its graph kept (the same
    RNG order and mixing blocks as DGA's pass 1), one loss over the whole batch, one backward."""
    model.zero_grad()
    torch.manual_seed(seed)
    data = model.data_preprocessor(batch, True)
    mix = model.mixup.sample() if model.mixup is not None else None
    images, texts = [], []
    for start in range(0, BATCH, sub_batch_size):
        chunk = {k: v[start:start + sub_batch_size] for k, v in data['inputs'].items()}
        image_embeds, text_embeds = model.embed(chunk, mix)
        images.append(image_embeds)
        texts.append(text_embeds)
    loss = model.contrastive_loss(torch.cat(images), torch.cat(texts), mix, block=sub_batch_size)
    loss.backward()
    return loss.item(), {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


def dga_gradients(model, batch, sub_batch_size, seed=123):
    model.dga = dict(sub_batch_size=sub_batch_size)
    wrapper = capture_wrapper(model)
    torch.manual_seed(seed)
    log_vars = model.train_step(batch, wrapper)
    return log_vars['loss'].item(), wrapper.grads


def assert_same_gradients(expected, actual, rtol=1e-9, atol=1e-12):
    assert expected.keys() == actual.keys()
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=rtol, atol=atol, msg=name)


@pytest.mark.parametrize('mixup', [None, dict(type='CoinFlipMixup', beta=1.0, mode='image'),
                                   dict(type='CoinFlipMixup', beta=1.0, mode='text')])
@pytest.mark.parametrize('sub_batch_size', [8, 4, 2])
@pytest.mark.parametrize('device', DEVICES)
def test_dga_equals_large_batch_gradient(mixup, sub_batch_size, device):
    model = tiny_model(mixup=mixup, device=device)
    reference_model = copy.deepcopy(model)
    expected_loss, expected = reference_gradients(reference_model, make_batch(), sub_batch_size)
    loss, grads = dga_gradients(model, make_batch(), sub_batch_size)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    assert 'loss_module.temperature.value' in grads  # the learnable τ, exactly once
    assert_same_gradients(expected, grads)


def test_without_dropout_dga_equals_one_plain_step():
    model = tiny_model(dropout=0.0)
    plain = copy.deepcopy(model)
    wrapper = capture_wrapper(plain)
    plain_log = plain.train_step(make_batch(), wrapper)
    loss, grads = dga_gradients(model, make_batch(), 2)
    assert loss == pytest.approx(plain_log['loss'].item(), rel=1e-12)
    assert_same_gradients(wrapper.grads, grads)


def max_difference(a, b):
    return max((a[k] - b[k]).abs().max().item() for k in a)


def test_negative_control_without_rng_replay_the_gradient_differs():
    model = tiny_model()
    _, expected = reference_gradients(copy.deepcopy(model), make_batch(), 4)
    with mock.patch.object(RngState, 'restore', lambda self: None):
        _, grads = dga_gradients(model, make_batch(), 4)
    assert max_difference(expected, grads) > 1e-4


def test_negative_control_naive_accumulation_differs():
    model = tiny_model(dropout=0.0)
    _, expected = reference_gradients(copy.deepcopy(model), make_batch(), 4)
    model.zero_grad()
    data = model.data_preprocessor(make_batch(), True)
    for start in (0, 4):  # one loss per sub-batch: each query sees 3 negatives instead of 7
        chunk = {k: v[start:start + 4] for k, v in data['inputs'].items()}
        (model.loss(chunk)['loss'] / 2).backward()
    naive = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    assert max_difference(expected, naive) > 1e-4


@pytest.mark.parametrize('device', DEVICES)
def test_rng_state_replays_draws(device):
    torch.zeros(1, device=device)  # CUDA's generators are captured once CUDA is initialised
    state = RngState.capture()
    first = torch.rand(5, device=device)
    state.restore()
    torch.testing.assert_close(torch.rand(5, device=device), first)


def test_sub_batch_must_divide_the_batch():
    model = tiny_model(dga=dict(sub_batch_size=3))
    with pytest.raises(ValueError, match='sub_batch_size=3 must divide'):
        model.train_step(make_batch(), capture_wrapper(model))


def _rank_dga(rank, world_size, sub_batch_size):
    model = tiny_model(dropout=0.0, mixup=dict(type='CoinFlipMixup', beta=1.0, mode='text'),
                       dga=dict(sub_batch_size=sub_batch_size))
    ddp = ZeroVLDistributedDataParallel(model, device_ids=None, broadcast_buffers=False)
    wrapper = capture_wrapper(model)
    batch = make_batch()
    per_rank = BATCH // world_size
    rows = slice(rank * per_rank, (rank + 1) * per_rank)
    local = dict(inputs={k: v[rows] for k, v in batch['inputs'].items()},
                 data_samples=batch['data_samples'][rows])
    log_vars = ddp.train_step(local, wrapper)
    return log_vars['loss'].item(), wrapper.grads


def test_dga_on_two_processes_equals_single_process_large_batch():
    reference = tiny_model(dropout=0.0, mixup=dict(type='CoinFlipMixup', beta=1.0, mode='text'))
    _, expected = reference_gradients(reference, make_batch(), 2)
    results = run_distributed(_rank_dga, 2, 2)
    for _, grads in results:
        # DDP averaged the gradients over the two ranks during the last sub-batch's backward.
        assert_same_gradients(expected, grads)
