"""tools/model_converters/convert_zerovl_original.py on a tiny model laid out as the original ZeroVL code lays
out its modules (CLIPModel -> ImageEncoder -> TimmModel -> timm ViT, the same for BERT, SimpleProjection.linear,
loss.temperature). The original's embeddings are computed here by its own recipe and must come out of the
converted DualEncoder unchanged."""
import os.path as osp
from collections import OrderedDict

import numpy as np
import pytest
import timm
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint
from torch import nn
from transformers import BertConfig, BertModel

from zerovl.models.converters import OriginalCheckpointError, extract_state_dict
from zerovl.registry import MODELS
from zerovl.testing import load_script
from zerovl.utils import register_all_modules

SCRIPT = 'tools/model_converters/convert_zerovl_original.py'
BERT = dict(vocab_size=40, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
            max_position_embeddings=12)
VIT = dict(model_name='test_vit', img_size=32, patch_size=8)
EMBED_DIM = 24
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class Wrapper(nn.Module):
    """The original ImageEncoder/TimmModel and TextEncoder/HuggingFaceModel each keep their inner network
    as ``.model``."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.model = inner


class SimpleProjection(nn.Module):
    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim, bias=False)


class NCE(nn.Module):
    def __init__(self, value: float):
        super().__init__()
        self.temperature = nn.Parameter(torch.ones([]) * value)  # the 'parameter' temperature


class OriginalCLIPModel(nn.Module):
    """The original's module tree with tiny towers; the forward follows the original's eval path."""

    def __init__(self, pre_logits: bool):
        super().__init__()
        vit = timm.create_model(VIT['model_name'], num_classes=0, img_size=VIT['img_size'],
                                patch_size=VIT['patch_size'])
        if pre_logits:  # old timm's in21k ViT: Linear + Tanh on the pooled CLS token
            vit.pre_logits = nn.Sequential(OrderedDict(fc=nn.Linear(vit.embed_dim, 48), act=nn.Tanh()))
        self.image_encoder = Wrapper(Wrapper(vit))
        # AutoModel.from_config (the original without pretrained weights) keeps BERT's pooler.
        self.text_encoder = Wrapper(Wrapper(BertModel(BertConfig(**BERT))))
        self.image_projection = SimpleProjection(48 if pre_logits else vit.embed_dim, EMBED_DIM)
        self.text_projection = SimpleProjection(BERT['hidden_size'], EMBED_DIM)
        self.loss = NCE(0.031)

    @staticmethod
    def l2(x):
        return x / (x.norm(dim=-1, keepdim=True) + 1e-8)

    def embed_images(self, normalised_images):
        vit = self.image_encoder.model.model
        features = vit(normalised_images)
        if hasattr(vit, 'pre_logits'):
            features = vit.pre_logits(features)
        return self.l2(self.image_projection.linear(features))

    def embed_texts(self, input_ids, attention_mask):
        hidden = self.text_encoder.model.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.l2(self.text_projection.linear(hidden[:, 0]))


def our_config_text() -> str:
    """The matching zerovl config: same tiny towers, nothing pre-trained."""
    model = dict(type='DualEncoder', embed_dim=EMBED_DIM,
                 image_tower=dict(type='TimmImageTower', pretrained=False, **VIT),
                 text_tower=dict(type='HFTextTower', pretrained=False, pooling='cls',
                                 config=dict(model_type='bert', **BERT)),
                 projection=dict(type='LinearProjection'),
                 loss=dict(type='InfoNCELoss', temperature=dict(init=0.02, learnable=False)))
    return f'model = {model!r}\n'


@pytest.fixture(scope='module')
def original(tmp_path_factory):
    """(model, checkpoint path, config path): the original model saved as its DDP run would save it."""
    register_all_modules()
    torch.manual_seed(0)
    model = OriginalCLIPModel(pre_logits=True).eval()
    folder = tmp_path_factory.mktemp('original')
    checkpoint = str(folder / 'original.pth')
    torch.save({'state_dict': {f'module.{k}': v for k, v in model.state_dict().items()}, 'epoch': 3}, checkpoint)
    config = folder / 'tiny_dual_encoder.py'
    config.write_text(our_config_text())
    return model, checkpoint, str(config)


def convert(argv):
    return load_script(SCRIPT).main(argv)


def load_converted(config, snippet, checkpoint):
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(dict(model=Config.fromfile(snippet).model))
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu', strict=True, logger='silent')
    return model.eval()


def test_converted_model_reproduces_the_original_embeddings(original, tmp_path, capsys):
    model, checkpoint, config = original
    out = str(tmp_path / 'converted.pth')
    assert convert([checkpoint, out, '--variant', '14m', '--config', config]) == 0
    printed = capsys.readouterr().out
    assert 'pooler.dense.weight' in printed and 'BERT pooler' in printed  # left out, and said so
    snippet = str(tmp_path / 'converted_config.py')
    assert osp.isfile(snippet) and 'pre_logits_dim=48' in printed  # the snippet is printed too
    ours = load_converted(config, snippet, out)
    assert ours.image_tower.pre_logits is not None and ours.image_tower.out_dim == 48

    torch.manual_seed(1)
    uint8_images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    input_ids = torch.randint(5, BERT['vocab_size'], (4, 10))
    attention_mask = torch.tensor([[1] * 10, [1] * 6 + [0] * 4, [1] * 3 + [0] * 7, [1] * 8 + [0] * 2])
    # The snippet set our preprocessor to the 14M model's ImageNet normalisation.
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    expected_pixels = (uint8_images.float() / 255 - mean) / std
    ours_pixels = ours.data_preprocessor(dict(inputs=dict(images=uint8_images)))['inputs']['images']
    torch.testing.assert_close(ours_pixels, expected_pixels, rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(ours.encode_image(ours_pixels), model.embed_images(expected_pixels),
                                   rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(ours.encode_text(input_ids, attention_mask),
                                   model.embed_texts(input_ids, attention_mask), rtol=1e-5, atol=1e-6)
    assert ours.loss_module.temperature().item() == pytest.approx(0.031)


def test_meta_records_the_normalisation_and_loads_weights_only(original, tmp_path):
    _, checkpoint, config = original
    out, snippet = str(tmp_path / 'c100m.pth'), str(tmp_path / 'snippet.py')
    assert convert([checkpoint, out, '--mean', '0.5', '0.5', '0.5', '--std', '0.5', '0.5', '0.5',
                    '--snippet', snippet]) == 0
    saved = torch.load(out, map_location='cpu', weights_only=True)
    assert saved['meta']['data_preprocessor'] == dict(type='ImageTextDataPreprocessor', mean=[127.5] * 3,
                                                      std=[127.5] * 3)
    assert saved['meta']['pre_logits_dim'] == 48 and saved['meta']['temperature_in_checkpoint']
    assert set(saved['meta']['ignored_keys']) == {'text_encoder.model.model.pooler.dense.weight',
                                                  'text_encoder.model.model.pooler.dense.bias'}
    model_cfg = Config.fromfile(snippet).model
    assert model_cfg.data_preprocessor.mean == [127.5] * 3
    assert model_cfg.image_tower == dict(pretrained=False, pre_logits_dim=48)
    assert model_cfg.loss.temperature.learnable is True
    assert load_converted(config, snippet, out).data_preprocessor.std.flatten().tolist() == [127.5] * 3


def test_without_pre_logits_and_constant_temperature(tmp_path):
    torch.manual_seed(2)
    model = OriginalCLIPModel(pre_logits=False)
    state = {k: v for k, v in model.state_dict().items() if k != 'loss.temperature'}  # a constant τ
    source, out = str(tmp_path / 'orig.pth'), str(tmp_path / 'out.pth')
    torch.save({'model': state}, source)
    config = tmp_path / 'tiny.py'
    config.write_text(our_config_text())
    assert convert([source, out, '--variant', '100m', '--config', str(config)]) == 0
    ours = load_converted(str(config), str(tmp_path / 'out_config.py'), out)
    assert ours.image_tower.pre_logits is None
    assert ours.loss_module.temperature().item() == pytest.approx(0.02)
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours.encode_image(images), model.eval().embed_images(images),
                                   rtol=1e-4, atol=1e-5)


def write_original(tmp_path, edit) -> str:
    torch.manual_seed(3)
    state = OriginalCLIPModel(pre_logits=True).state_dict()
    edit(state)
    path = str(tmp_path / 'edited.pth')
    torch.save(state, path)
    return path


@pytest.mark.parametrize('edit, named', [
    (lambda s: s.__setitem__('text_projection.linear.bias', torch.zeros(EMBED_DIM)), 'text_projection.linear.bias'),
    (lambda s: s.__setitem__('logit_scale', torch.ones([])), 'logit_scale'),
    (lambda s: s.pop('text_projection.linear.weight'), 'text_projection.linear.weight'),
    (lambda s: s.pop('image_encoder.model.model.pre_logits.fc.bias'), 'pre_logits'),
])
def test_unknown_or_missing_keys_stop_the_conversion_by_name(tmp_path, capsys, edit, named):
    source, out = write_original(tmp_path, edit), str(tmp_path / 'out.pth')
    assert convert([source, out, '--variant', '14m']) == 1
    assert named in capsys.readouterr().err
    assert not osp.exists(out)


def test_a_tensor_missing_inside_a_tower_is_named_when_checked_against_the_config(original, tmp_path, capsys):
    _, _, config = original
    key = 'image_encoder.model.model.blocks.0.attn.qkv.weight'
    source, out = write_original(tmp_path, lambda s: s.pop(key)), str(tmp_path / 'out.pth')
    assert convert([source, out, '--variant', '14m', '--config', config]) == 1
    assert 'image_tower.model.blocks.0.attn.qkv.weight' in capsys.readouterr().err and not osp.exists(out)


def test_normalisation_must_be_stated(original, tmp_path):
    _, checkpoint, _ = original
    with pytest.raises(SystemExit):
        convert([checkpoint, str(tmp_path / 'out.pth')])
    # On the 0-255 scale by mistake: refused rather than normalised twice.
    assert convert([checkpoint, str(tmp_path / 'out.pth'), '--mean', '127', '127', '127',
                    '--std', '0.5', '0.5', '0.5']) == 1


@pytest.mark.parametrize('container', ['state_dict', 'model', None])
def test_state_dict_is_found_in_each_container_and_loses_the_ddp_prefix(container):
    tensors = {'module.a.weight': torch.zeros(1), 'module.b': torch.ones(2)}
    checkpoint = {container: tensors, 'epoch': 1} if container else tensors
    assert sorted(extract_state_dict(checkpoint)) == ['a.weight', 'b']
    with pytest.raises(OriginalCheckpointError, match='epoch'):
        extract_state_dict({'weights': tensors, 'epoch': np.int64(1)})
