"""The towers' speed switches compute what the plain towers compute: SDPA attention in the text tower
(and timm's fused attention in the image tower), and torch.compile of either tower, outputs and
gradients. Compilation uses the aot_eager backend here: inductor's C++ build takes minutes on CI's two
cores; aot_eager still traces with dynamo and runs AOT autograd's joint forward/backward graph."""
import pytest
import torch
from torch._dynamo.testing import CompileCounterWithBackend

from zerovl.models.towers import HFTextTower, TimmImageTower

BERT = dict(model_type='bert', vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
            intermediate_size=64, max_position_embeddings=16, hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0)
VIT = dict(model_name='test_vit', img_size=32, patch_size=8)


def text_inputs():
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 50, (4, 7), generator=gen)
    mask = torch.ones(4, 7, dtype=torch.long)
    mask[1, 4:] = 0  # padding: the mask must reach the attention
    mask[3, 2:] = 0
    return ids, mask


def text_tower(**kwargs):
    torch.manual_seed(0)
    return HFTextTower(pretrained=False, config=BERT, **kwargs).double()


@pytest.mark.parametrize('pooling', ['cls', 'mean'])
def test_sdpa_text_tower_equals_eager(pooling):
    sdpa, eager = text_tower(pooling=pooling), text_tower(pooling=pooling, attn_implementation='eager')
    assert sdpa.model.config._attn_implementation == 'sdpa'
    assert eager.model.config._attn_implementation == 'eager'
    ids, mask = text_inputs()
    torch.testing.assert_close(sdpa(ids, mask), eager(ids, mask), rtol=0, atol=1e-12)
    unmasked = eager.model(input_ids=ids).last_hidden_state[:, 0]
    assert (sdpa(ids, mask) - unmasked).abs().max() > 1e-3  # the padding mattered


def test_sdpa_text_tower_hands_the_encoder_a_prepared_mask():
    _, mask = text_inputs()
    prepared = text_tower().encoder_mask(mask)
    assert prepared.shape == (4, 1, 1, 7) and prepared.dtype is torch.bool
    assert text_tower(attn_implementation='eager').encoder_mask(mask) is mask


def test_unknown_attention_implementation_names_the_key():
    with pytest.raises(ValueError, match='model.text_tower.attn_implementation'):
        text_tower(attn_implementation='flash')


def test_timm_vit_uses_fused_attention():
    assert TimmImageTower(**VIT).fused_attention is True
    assert TimmImageTower('resnet10t').fused_attention is None


def outputs_and_gradients(tower, inputs):
    tower.zero_grad()
    out = tower(*inputs)
    (out * torch.linspace(-1, 1, out.shape[-1], dtype=out.dtype)).sum().backward()
    return out.detach(), {name: p.grad.clone() for name, p in tower.named_parameters()}


@pytest.mark.parametrize('kind', ['image', 'text'])
def test_compiled_tower_equals_eager(kind):
    counter = CompileCounterWithBackend('aot_eager')
    if kind == 'image':
        build = lambda **kw: TimmImageTower(**VIT, **kw).double()  # noqa: E731
        inputs = (torch.randn(4, 3, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(0)),)
    else:
        build, inputs = text_tower, text_inputs()
    torch.manual_seed(0)
    eager = build()
    torch.manual_seed(0)
    compiled = build(compile=dict(backend=counter))
    assert compiled.state_dict().keys() == eager.state_dict().keys()  # checkpoints are unchanged
    expected_out, expected_grads = outputs_and_gradients(eager, inputs)
    out, grads = outputs_and_gradients(compiled, inputs)
    assert counter.frame_count >= 1  # dynamo really compiled the tower
    torch.testing.assert_close(out, expected_out, rtol=1e-12, atol=1e-12)
    assert grads.keys() == expected_grads.keys()
    for name in grads:
        torch.testing.assert_close(grads[name], expected_grads[name], rtol=1e-10, atol=1e-12, msg=name)


def test_compile_switch_rejects_other_values():
    with pytest.raises(TypeError, match='model.image_tower.compile'):
        TimmImageTower(**VIT, compile='yes')
