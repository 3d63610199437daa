"""CompactConvTower: built through zerovl's registry from a config that imports the project, with the
shapes, per-image normalisation and freezing the docs promise."""
import pytest
import torch
from mmengine.config import Config

from projects.example_project.example_project import CompactConvTower
from projects.example_project.example_project.compact_conv_tower import ResidualBlock
from zerovl.registry import MODELS
from zerovl.utils import register_all_modules

CONFIG = 'projects/example_project/configs/zerovl_demo_compact_conv.py'
TINY = dict(type='CompactConvTower', widths=(8, 16), depths=(1, 1), norm_groups=4)


def write_config(tmp_path, text: str) -> str:
    path = tmp_path / 'tower.py'
    path.write_text(text)
    return str(path)


def test_config_with_custom_imports_builds_the_tower(tmp_path):
    path = write_config(tmp_path, (
        "custom_imports = dict(imports=['projects.example_project.example_project'], "
        "allow_failed_imports=False)\n"
        "image_tower = dict(type='CompactConvTower', widths=(8, 16, 32), depths=(1, 2, 1), norm_groups=4)\n"))
    cfg = Config.fromfile(path)  # imports the project; in a fresh interpreter test_train_project_configs checks it
    tower = MODELS.build(cfg.image_tower)
    assert isinstance(tower, CompactConvTower) and tower.out_dim == 32
    # Stem /2, then stages at /1, /2, /2: 64 -> 32 -> 32 -> 16 -> 8 px before pooling.
    features = tower.model[:-2](torch.randn(2, 3, 64, 64))
    assert features.shape == (2, 32, 8, 8)
    assert tower(torch.randn(2, 3, 64, 64)).shape == (2, 32)


def test_project_config_builds_a_dual_encoder_with_the_tower(one_thread):
    register_all_modules()
    cfg = Config.fromfile(CONFIG)
    model = MODELS.build(cfg.model)
    assert isinstance(model.image_tower, CompactConvTower)
    assert model.image_tower.out_dim == 256 and model.image_projection.in_features == 256
    with torch.no_grad():
        embeds = model.encode_image(torch.randn(3, 3, 64, 64))
    assert embeds.shape == (3, cfg.model.embed_dim)
    torch.testing.assert_close(embeds.norm(dim=1), torch.ones(3))


def test_each_image_is_normalised_on_its_own():
    """GroupNorm, not BatchNorm: in train mode an image's feature does not depend on its batch, which is
    what makes DGA's sub-batches exact for this tower."""
    torch.manual_seed(0)
    tower = MODELS.build(TINY).train()
    with torch.no_grad():
        # Make the residual branches count: they start as exact zeros.
        for block in tower.modules():
            if isinstance(block, ResidualBlock):
                block.body[-1][1].weight.fill_(1.0)
        images = torch.randn(4, 3, 32, 32)
        torch.testing.assert_close(tower(images)[:2], tower(images[:2]))


def test_residual_blocks_start_as_the_identity():
    tower = MODELS.build(TINY)
    blocks = [m for m in tower.modules() if isinstance(m, ResidualBlock)]
    assert len(blocks) == 2
    x = torch.rand(2, 8, 8, 8)  # non-negative, as a ReLU output is
    torch.testing.assert_close(blocks[0](x), x)


def test_freeze_stops_gradients_and_keeps_eval_mode():
    tower = MODELS.build(dict(TINY, freeze=True))
    tower.train()
    assert not any(p.requires_grad for p in tower.parameters())
    assert not tower.model.training


@pytest.mark.parametrize('kwargs, message', [
    (dict(widths=(8, 16), depths=(1,)), 'one entry per stage'),
    (dict(widths=(8, 12), depths=(1, 1), norm_groups=8), 'multiple of norm_groups=8'),
    (dict(widths=(8,), depths=(-1,)), 'depths must be >= 0'),
])
def test_bad_arguments_name_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MODELS.build(dict(type='CompactConvTower', **kwargs))


def test_rejects_a_batch_without_channels():
    with pytest.raises(ValueError, match=r'\(N, C, H, W\)'):
        MODELS.build(TINY)(torch.randn(3, 32, 32))
