"""The full ZeroVL recipe (ViT-B/16 + BERT-base, debiased sampling, mixup, DGA) builds from its config
and trains on CPU."""
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from zerovl.testing import point_config_at
from zerovl.utils import register_all_modules


def test_zerovl_14m_builds_with_random_init_and_trains_two_iterations(synthetic_root, tmp_path):
    register_all_modules()
    cfg = Config.fromfile('configs/zerovl/zerovl_14m.py')
    # The recipe as published, except what needs the network: random init, the BERT-base architecture
    # built offline from its config (BertConfig's defaults are bert-base-uncased), a local vocabulary.
    assert cfg.model.image_tower.model_name == 'vit_base_patch16_224.augreg_in21k'
    assert cfg.model.text_tower.model_name_or_path == 'bert-base-uncased'
    # ZeroVL's numbers on 8 GPUs: a global batch of 16,384 in DGA sub-batches of 1,024.
    assert cfg.train_dataloader.batch_size * 8 == 16384 and cfg.model.dga.sub_batch_size * 8 == 1024
    assert cfg.model.mixup.beta == 0.1 and cfg.train_dataloader.batch_sampler.mode == 'debias'
    cfg.model.image_tower.pretrained = False
    cfg.model.text_tower.update(pretrained=False, model_name_or_path=None, config=dict(model_type='bert'))
    point_config_at(cfg, synthetic_root)
    for dataset, name in zip(cfg.train_dataloader.dataset.datasets, ['synth_a', 'synth_b', 'synth_a']):
        dataset.name = name  # stand-ins for cc3m, sbu, cc12m
    # Synthetic images are 64 px; the pipeline still crops them to 224 as for real data.
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False, pin_memory=False)
    cfg.model.dga.sub_batch_size = 1  # DGA, mixup and debiased sampling all stay on, at batch 2
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=10)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.param_scheduler = None
    cfg.default_hooks.checkpoint = None
    cfg.log_processor.by_epoch = False
    cfg.work_dir = str(tmp_path)

    runner = Runner.from_cfg(cfg)
    model = runner.model
    n_params = sum(p.numel() for p in model.parameters())
    assert 190e6 < n_params < 215e6  # ViT-B/16 (86M) + BERT-base without pooler (109M) + two 768x512 heads
    assert model.image_projection.weight.shape == (512, 768) and model.image_projection.bias is None
    before = model.text_projection.weight.detach().clone()
    runner.train()
    assert runner.iter == 2
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == 2 and all(torch.isfinite(torch.tensor(losses)))
    assert not torch.equal(before, model.text_projection.weight)
