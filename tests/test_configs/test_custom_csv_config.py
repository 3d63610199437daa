"""Own data in one place: a folder of images + captions -> folder_to_csv.py -> a leaf config of
configs/zerovl/zerovl_custom_csv.py that sets `custom_data` once -> train -> test with retrieval numbers."""
import csv
import json
import os
import os.path as osp
import shutil

import pytest

from zerovl.testing.scripts import load_script
from zerovl.utils import load_config
from zerovl.utils.schema import ConfigKeyError

TEMPLATE = osp.abspath('configs/zerovl/zerovl_custom_csv.py')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def caption_folder(synthetic_root: str, folder: str, images: int = 24) -> str:
    """The first ``images`` training images of synth_a as a user's folder: a.png + a.txt (its caption)."""
    os.makedirs(folder)
    captions = {}
    with open(osp.join(synthetic_root, 'synth_a', 'train_anno.csv'), newline='') as f:
        for row in csv.DictReader(f):
            captions.setdefault(row['image'], []).append(row['caption'])
    for image in sorted(captions)[:images]:
        shutil.copy(osp.join(synthetic_root, 'synth_a', 'train', image), osp.join(folder, image))
        with open(osp.join(folder, osp.splitext(image)[0] + '.txt'), 'w') as f:
            f.write('\n'.join(captions[image]) + '\n')
    return folder


def leaf_config(path: str, data_root: str, vocab: str, batch_size: int = 8) -> str:
    """What a user writes: the template, their data in `custom_data`, and (here) a seconds-sized model."""
    with open(path, 'w') as f:
        f.write(f"""_base_ = [{TEMPLATE!r}]
custom_data = dict(data_root={data_root!r}, names=['mine'], image_size=32, tokenizer={vocab!r},
                   batch_size={batch_size}, num_workers=0)
model = dict(
    image_tower=dict(_delete_=True, type='TimmImageTower', model_name='test_resnet', pretrained=False),
    text_tower=dict(_delete_=True, type='HFTextTower', pretrained=False, pooling='mean',
                    config=dict(model_type='bert', vocab_size=128, hidden_size=32, num_hidden_layers=1,
                                num_attention_heads=2, intermediate_size=64, max_position_embeddings=40)),
    dga=dict(sub_batch_size=4))
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
""")
    return path


def every_dataset(cfg, key):
    dataset = cfg[key].dataset
    return dataset.get('datasets', [dataset])


def test_folder_to_trained_model_and_retrieval_numbers(synthetic_root, short_work_dir, one_thread):
    folder = caption_folder(synthetic_root, osp.join(short_work_dir, 'photos'))
    data_root = osp.join(short_work_dir, 'data')
    converter = load_script('tools/dataset_converters/folder_to_csv.py')
    assert converter.main([folder, data_root, '--name', 'mine', '--val-fraction', '0.25']) == 0
    with open(osp.join(data_root, 'mine', 'valid_anno.csv')) as f:
        held_out = {row['image'] for row in csv.DictReader(f)}
    with open(osp.join(data_root, 'mine', 'train_anno.csv')) as f:
        trained = {row['image'] for row in csv.DictReader(f)}
    assert len(held_out) == 6 and len(trained) == 18 and not held_out & trained

    config = leaf_config(osp.join(short_work_dir, 'mine.py'), data_root, f'{synthetic_root}/vocab.txt')
    work_dir = osp.join(short_work_dir, 'work')
    load_script('tools/train.py').main([config, '--work-dir', work_dir, '--device', 'cpu'])
    out = osp.join(short_work_dir, 'metrics.json')
    metrics = load_script('tools/test.py').main([config, osp.join(work_dir, 'epoch_1.pth'), '--work-dir', work_dir,
                                                 '--out', out, '--device', 'cpu', '--no-progress'])
    assert json.load(open(out)) == pytest.approx(metrics)
    # 6 held-out images, one caption each (the synthetic training split has one per image).
    assert 0 <= metrics['mine/rsum'] <= 600
    assert {'mine/i2t_R@1', 'mine/t2i_R@10'} <= set(metrics)


def test_one_key_moves_train_val_and_test(synthetic_root, short_work_dir):
    config = leaf_config(osp.join(short_work_dir, 'mine.py'), 'data/a', f'{synthetic_root}/vocab.txt')
    cfg = load_config(config, {'custom_data.data_root': 'data/b', 'custom_data.image_size': 48})
    for key in LOADERS:
        for dataset in every_dataset(cfg, key):
            assert dataset.data_root == 'data/b' and dataset.name == 'mine'
            sizes = [step.get('size', step.get('scale')) for step in dataset.pipeline
                     if step.type in ('ResizeImage', 'mmpretrain.RandomResizedCrop')]
            assert sizes == [48]
            tokenizers = {step.tokenizer for step in dataset.pipeline if 'tokenizer' in step}
            assert tokenizers == {f'{synthetic_root}/vocab.txt'}
    assert cfg.train_dataloader.batch_size == 8 and cfg.test_dataloader.batch_size == 16
    assert cfg.test_dataloader.dataset.split == 'valid' and cfg.train_dataloader.dataset.split == 'train'
    # The config's own loader keys win over the built ones, without losing the rest.
    cfg = load_config(config, {'test_dataloader.batch_size': 3})
    assert cfg.test_dataloader.batch_size == 3 and cfg.test_dataloader.dataset.data_root == 'data/a'
    assert cfg.val_dataloader.batch_size == 16


def test_dumped_config_builds_the_same_loaders(synthetic_root, short_work_dir):
    config = leaf_config(osp.join(short_work_dir, 'mine.py'), 'data/a', f'{synthetic_root}/vocab.txt')
    cfg = load_config(config, {'custom_data.names': ['x', 'y']})
    assert [d.name for d in every_dataset(cfg, 'test_dataloader')] == ['x', 'y']
    cfg.dump(osp.join(short_work_dir, 'dumped.py'))
    again = load_config(osp.join(short_work_dir, 'dumped.py'))
    for key in LOADERS:
        assert again[key].to_dict() == cfg[key].to_dict()


def test_unknown_custom_data_key_names_it(short_work_dir):
    with pytest.raises(ConfigKeyError, match=r"custom_data\.data_rot: unknown key \(did you mean 'data_root'"):
        load_config(TEMPLATE, {'custom_data.data_rot': 'x'})


def test_batch_larger_than_data_stops_before_the_model(synthetic_root, short_work_dir):
    folder = caption_folder(synthetic_root, osp.join(short_work_dir, 'photos'), images=8)
    data_root = osp.join(short_work_dir, 'data')
    assert load_script('tools/dataset_converters/folder_to_csv.py').main(
        [folder, data_root, '--name', 'mine', '--val-fraction', '0.25']) == 0
    config = leaf_config(osp.join(short_work_dir, 'mine.py'), data_root, f'{synthetic_root}/vocab.txt',
                         batch_size=16)
    # A model type that does not exist: had the model been built first, that would be the error.
    with open(config, 'a') as f:
        f.write("model = dict(_delete_=True, type='NoSuchModel')\n")
    with pytest.raises(SystemExit, match=r'one global batch of 16 samples is more than the 6 training rows .*'
                                         r'mine/train_anno\.csv; set a batch size of at most 6'):
        load_script('tools/train.py').main([config, '--work-dir', osp.join(short_work_dir, 'w'), '--device', 'cpu'])
    # The negative control: a batch that fits gets past the check, to the model.
    with pytest.raises(KeyError, match='NoSuchModel'):
        load_script('tools/train.py').main([config, '--work-dir', osp.join(short_work_dir, 'w'), '--device', 'cpu',
                                            '--cfg-options', 'custom_data.batch_size=6'])


def test_folder_converter_reads_a_captions_csv_and_reports_missing_images(synthetic_root, short_work_dir):
    folder = caption_folder(synthetic_root, osp.join(short_work_dir, 'photos'), images=4)
    images = sorted(name for name in os.listdir(folder) if not name.endswith('.txt'))
    table = osp.join(short_work_dir, 'captions.csv')
    with open(table, 'w', newline='') as f:
        csv.writer(f).writerows([('image', 'caption')] + [(image, f'caption of {image}') for image in images])
    converter = load_script('tools/dataset_converters/folder_to_csv.py')
    assert converter.main([folder, osp.join(short_work_dir, 'd'), '--captions', table, '--val-fraction', '0.5']) == 0
    with open(osp.join(short_work_dir, 'd', 'custom', 'train_anno.csv')) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and all(row['caption'] == f"caption of {row['image']}" for row in rows)
    with open(table, 'a') as f:
        f.write('missing.png,a caption\n')
    assert converter.main([folder, osp.join(short_work_dir, 'e'), '--captions', table]) == 1


def test_the_same_data_as_shards_trains_with_one_more_key(synthetic_root, short_work_dir, one_thread):
    """custom_data.source='shards': training streams the img2dataset shards csv_to_shards.py wrote next to
    the CSV (evaluation keeps reading the CSV); the rest of the config is unchanged."""
    folder = caption_folder(synthetic_root, osp.join(short_work_dir, 'photos'))
    data_root = osp.join(short_work_dir, 'data')
    assert load_script('tools/dataset_converters/folder_to_csv.py').main(
        [folder, data_root, '--name', 'mine', '--val-fraction', '0.25']) == 0
    load_script('tools/dataset_converters/csv_to_shards.py').main(
        [data_root, 'mine', '--samples-per-shard', '8', '--verify'])
    config = leaf_config(osp.join(short_work_dir, 'mine_shards.py'), data_root, f'{synthetic_root}/vocab.txt')
    cfg = load_config(config, {'custom_data.source': 'shards'})
    assert cfg.train_dataloader.dataset.type == 'ShardImageTextDataset'
    assert cfg.train_dataloader.dataset.sources == [dict(name='mine', path='mine/train_shards')]
    assert all(part.source == 'files' for part in every_dataset(cfg, 'val_dataloader'))
    work_dir = osp.join(short_work_dir, 'work')
    load_script('tools/train.py').main([config, '--work-dir', work_dir, '--device', 'cpu',
                                        '--cfg-options', 'custom_data.source=shards'])
    trained = [json.loads(line) for line in open(next(
        osp.join(root, name) for root, _, names in os.walk(work_dir) for name in names if name == 'scalars.json'))]
    assert any('loss' in row for row in trained) and any('mine/rsum' in row for row in trained)
