"""The COCO / F30K fine-tuning configs: what they point at, and a fine-tune run end to end on a
hand-made Karpathy split converted by our converter."""
import json
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from zerovl.datasets.converters.karpathy import convert_karpathy
from zerovl.utils.checkpoint import safe_load
from zerovl.testing import load_script, point_config_at

COCO = 'configs/finetune/zerovl_coco_ft.py'
F30K = 'configs/finetune/zerovl_f30k_ft.py'
DEMO = 'configs/zerovl/zerovl_demo.py'


@pytest.mark.parametrize('config_file, name', [(COCO, 'coco'), (F30K, 'f30k')])
def test_configs_train_on_karpathy_train_select_on_val_and_test_on_test(config_file, name):
    cfg = Config.fromfile(config_file)
    assert cfg.train_dataloader.dataset.name == name and cfg.train_dataloader.dataset.split == 'train'
    val = cfg.val_dataloader.dataset
    assert (val.name, val.ann_file, val.img_dir) == (name, f'{name}/val_anno.csv', f'{name}/val')
    test = cfg.test_dataloader.dataset
    assert (test.name, test.split, test.get('ann_file')) == (name, 'valid', None)  # valid_anno.csv = test
    assert cfg.default_hooks.checkpoint.save_best == f'{name}/rsum'
    assert not cfg.model.image_tower.pretrained and not cfg.model.text_tower.pretrained
    assert cfg.load_from is None and cfg.requires_load_from


def test_train_refuses_to_fine_tune_without_load_from():
    train = load_script('tools/train.py')
    with pytest.raises(SystemExit, match='load_from=PATH'):
        train.build_config(train.parse_args([COCO]))


def _karpathy_json(tmp, num_images=12):
    """Images of four colours, two captions each, in the Karpathy splits; the JPEGs under an image root."""
    rng = np.random.default_rng(0)
    colours = dict(red=(220, 30, 30), green=(40, 170, 60), blue=(40, 70, 220), yellow=(240, 220, 30))
    splits = ['train'] * 6 + ['restval'] * 2 + ['val'] * 2 + ['test'] * 2
    images, root = [], tmp / 'images'
    (root / 'imgs').mkdir(parents=True)
    for index in range(num_images):
        colour = list(colours)[index % 4]
        pixels = np.clip(np.array(colours[colour])[::-1] + rng.integers(-20, 20, (48, 48, 3)), 0, 255)
        cv2.imwrite(str(root / 'imgs' / f'{index}.jpg'), pixels.astype(np.uint8))
        images.append(dict(filepath='imgs', filename=f'{index}.jpg', imgid=index, split=splits[index],
                           sentences=[dict(raw=f'a {colour} square', sentid=2 * index),
                                      dict(raw=f'the colour {colour}', sentid=2 * index + 1)]))
    json_path = tmp / 'dataset_coco.json'
    json_path.write_text(json.dumps(dict(images=images, dataset='coco')))
    return json_path, root


def test_fine_tune_loads_the_pretrained_weights_and_reports_coco_test_retrieval(synthetic_root, tmp_path):
    import tempfile
    work = tempfile.mkdtemp(prefix='zv')  # short: MMEngine's yapf dump is slow on long paths
    try:
        json_path, image_root = _karpathy_json(tmp_path)
        data_root = f'{work}/data'
        convert_karpathy(str(json_path), str(image_root), data_root, 'coco', link_images=True)
        shutil.copy(f'{synthetic_root}/vocab.txt', f'{data_root}/vocab.txt')

        cfg = Config.fromfile(COCO)
        demo = Config.fromfile(DEMO)
        # Small towers from the demo (random init), a tiny image tower, 64 px instead of 224.
        cfg.model.image_tower = dict(type='TimmImageTower', model_name='test_resnet', pretrained=False)
        cfg.model.text_tower = demo.model.text_tower
        cfg.model.embed_dim = demo.model.embed_dim
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[loader].update(batch_size=4, num_workers=0, persistent_workers=False, pin_memory=False)
            cfg[loader].dataset.data_root = data_root
        cfg.train_dataloader.dataset.pipeline[1].scale = 64
        for loader in ('val_dataloader', 'test_dataloader'):
            cfg[loader].dataset.pipeline[1].size = 72
            cfg[loader].dataset.pipeline[2].size = 64
        point_config_at(cfg, data_root)
        # lr 0: the weights after training must be exactly the loaded ones, which proves load_from took.
        cfg.optim_wrapper.optimizer.lr = 0.0
        cfg.train_cfg.max_epochs = 1
        cfg.param_scheduler = []
        cfg.default_hooks.logger.interval = 1
        config_file = f'{work}/coco_ft.py'
        cfg.dump(config_file)

        from mmengine.registry import DefaultScope
        from zerovl.registry import MODELS
        from zerovl.utils import register_all_modules
        register_all_modules()
        with DefaultScope.overwrite_default_scope('zerovl'):
            pretrained = MODELS.build(cfg.model)
        with torch.no_grad():  # weights no fresh initialisation could produce
            for parameter in pretrained.parameters():
                parameter.add_(0.5)
        torch.save(dict(state_dict=pretrained.state_dict(), meta=dict()), f'{work}/pre.pth')

        load_script('tools/train.py').main([config_file, '--work-dir', f'{work}/ft',
                                            '--cfg-options', f'load_from={work}/pre.pth'])
        tuned = safe_load(f'{work}/ft/epoch_1.pth')['state_dict']
        # Parameters only: BatchNorm running statistics do move in a training epoch at lr 0.
        for key, value in pretrained.named_parameters():
            assert torch.equal(tuned[key], value.detach()), key

        best = next(p for p in __import__('os').listdir(f'{work}/ft') if p.startswith('best_coco_rsum'))
        metrics = load_script('tools/test.py').main([config_file, f'{work}/ft/{best}', '--work-dir', f'{work}/t',
                                                     '--no-progress'])
        # The Karpathy test split: 2 images, 4 captions.
        assert set(metrics) == {f'coco/{m}' for m in ('i2t_R@1', 'i2t_R@5', 'i2t_R@10', 't2i_R@1', 't2i_R@5',
                                                       't2i_R@10', 'rsum')}
        assert metrics['coco/i2t_R@5'] == 100.0  # 2 images: everything is in the top 5
    finally:
        shutil.rmtree(work, ignore_errors=True)
