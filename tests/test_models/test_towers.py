"""Towers: pooled output widths, pooling modes, freezing, gradient checkpointing, offline building."""
import pytest
import torch

from zerovl.models.towers import HFTextTower, TimmImageTower

BERT = dict(model_type='bert', vocab_size=40, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
            intermediate_size=32, max_position_embeddings=12)


def test_timm_tower_returns_the_pooled_feature_and_freezes():
    tower = TimmImageTower('test_resnet')
    assert tower(torch.randn(2, 3, 32, 32)).shape == (2, tower.out_dim)
    frozen = TimmImageTower('test_resnet', freeze=True).train()
    assert not frozen.model.training and not any(p.requires_grad for p in frozen.parameters())
    checkpointed = TimmImageTower('test_vit', grad_checkpointing=True, img_size=32, patch_size=8)
    checkpointed(torch.randn(2, 3, 32, 32)).sum().backward()
    assert checkpointed.model.grad_checkpointing


def test_hf_tower_pooling_cls_and_mean():
    torch.manual_seed(0)
    ids = torch.randint(5, 40, (2, 6))
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]])
    cls_tower = HFTextTower(pretrained=False, config=BERT, pooling='cls').eval()
    hidden = cls_tower.model(input_ids=ids, attention_mask=mask).last_hidden_state
    torch.testing.assert_close(cls_tower(ids, mask), hidden[:, 0])
    mean_tower = HFTextTower(pretrained=False, config=BERT, pooling='mean').eval()
    mean_tower.load_state_dict(cls_tower.state_dict())
    torch.testing.assert_close(mean_tower(ids, mask)[1], hidden[1, :3].mean(0))  # padding excluded
    assert cls_tower.model.pooler is None and cls_tower.out_dim == 16


def test_hf_tower_freezes_and_rejects_bad_arguments():
    frozen = HFTextTower(pretrained=False, config=BERT, freeze=True).train()
    assert not frozen.model.training and not any(p.requires_grad for p in frozen.parameters())
    with pytest.raises(ValueError, match='pooling'):
        HFTextTower(pretrained=False, config=BERT, pooling='max')
    with pytest.raises(ValueError, match='model_type'):
        HFTextTower(pretrained=False)
