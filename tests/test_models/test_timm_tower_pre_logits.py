"""TimmImageTower's optional pre-logits layer: old timm's Linear + Tanh on a ViT's pooled CLS token."""
import torch

from zerovl.models.towers import TimmImageTower

VIT = dict(model_name='test_vit', img_size=32, patch_size=8)


def test_pre_logits_is_tanh_of_a_linear_layer_on_the_pooled_feature():
    torch.manual_seed(0)
    tower = TimmImageTower(pre_logits_dim=20, **VIT).eval()
    images = torch.randn(2, 3, 32, 32)
    fc = tower.pre_logits.fc
    torch.testing.assert_close(tower(images), torch.tanh(fc(tower.model(images))))
    assert tower.out_dim == 20 and fc.in_features == tower.model.num_features
    # The keys old timm gave the layer, under the tower.
    assert {'pre_logits.fc.weight', 'pre_logits.fc.bias'} <= set(tower.state_dict())


def test_without_pre_logits_nothing_changes_and_freezing_covers_the_layer():
    plain = TimmImageTower(**VIT)
    assert plain.pre_logits is None and not any(key.startswith('pre_logits') for key in plain.state_dict())
    frozen = TimmImageTower(pre_logits_dim=8, freeze=True, **VIT)
    assert not any(param.requires_grad for param in frozen.parameters())
