"""A seconds-scale version of the demo config, for tests and for checking an installation."""
from mmengine.config import Config

from zerovl.utils.experiment_name import unique_experiment_name

DEMO_CONFIG = 'configs/zerovl/zerovl_demo.py'


def point_config_at(cfg: Config, data_root: str) -> Config:
    """Re-root every ImageTextDataset of ``cfg`` at ``data_root`` (a synthetic set) and point every
    tokenizer at its vocabulary."""
    for loader_key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(loader_key)
        if not loader:
            continue
        dataset = loader['dataset']
        for part in dataset.get('datasets', [dataset]):
            part['data_root'] = data_root
            for step in part.get('pipeline', []):
                if 'tokenizer' in step:  # Tokenize, CaptionAugment
                    step['tokenizer'] = f'{data_root}/vocab.txt'
    return cfg


def tiny_demo_config(data_root: str, work_dir: str, config_file: str = DEMO_CONFIG, max_epochs: int = 1,
                     batch_size: int = 8) -> Config:
    """The demo recipe with a ~0.4M-parameter image tower, no worker processes and tiny batches."""
    cfg = Config.fromfile(config_file)
    point_config_at(cfg, data_root)
    cfg.work_dir = work_dir
    # Tests build runners of this config, some within one second; each gets its own logger and visualizer.
    cfg.experiment_name = unique_experiment_name('tiny_demo')
    cfg.model.image_tower = dict(type='TimmImageTower', model_name='test_resnet', pretrained=False)
    for loader_key, size in (('train_dataloader', batch_size), ('val_dataloader', 2 * batch_size),
                             ('test_dataloader', 2 * batch_size)):
        cfg[loader_key].update(batch_size=size, num_workers=0, persistent_workers=False)
    if cfg.model.get('dga'):
        cfg.model.dga.sub_batch_size = batch_size // 2  # keep two sub-batches per step
    cfg.train_cfg.update(max_epochs=max_epochs, val_interval=max_epochs)
    # No `end`: it is the run's end, so tests that shorten train_cfg.max_epochs keep a schedule that fits.
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, eta_min_ratio=0.1,
                                convert_to_iter_based=True)]
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 1
    return cfg


def dump_tiny_demo(data_root: str, work_dir: str, seed: int = 0):
    """``(config file, config, model)``: :func:`tiny_demo_config` dumped as ``work_dir/tiny.py``, and its
    model built with ``seed``; what tests of tools that take a config and a checkpoint start from."""
    import torch

    from zerovl.registry import MODELS
    from zerovl.utils import register_all_modules
    register_all_modules()
    cfg = tiny_demo_config(data_root, work_dir)
    config_file = f'{work_dir}/tiny.py'
    cfg.dump(config_file)
    torch.manual_seed(seed)
    return config_file, cfg, MODELS.build(cfg.model)


def dump_tiny_demo_checkpoint(data_root: str, work_dir: str, seed: int = 0):
    """``(config file, config, checkpoint)``: :func:`dump_tiny_demo` with its seeded model saved as a training
    checkpoint (``work_dir/epoch_1.pth``, the weights under ``state_dict``); what tests of the tools that load a
    config and a checkpoint (create_model, the exporters) start from."""
    import torch
    config_file, cfg, model = dump_tiny_demo(data_root, work_dir, seed)
    checkpoint = f'{work_dir}/epoch_1.pth'
    torch.save(dict(meta=dict(epoch=1), state_dict=model.state_dict()), checkpoint)
    return config_file, cfg, checkpoint
