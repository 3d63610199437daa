"""Classification data: FashionMNIST from (hand-written and real) IDX files, ImageFolderDataset on tiny
PNGs, and both packed by PackImageLabel into batches the image-text collate and preprocessor accept."""
import gzip
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from zerovl.datasets import FashionMNIST, ImageFolderDataset, image_text_collate
from zerovl.datasets.fashion_mnist import CLASSES, DEFAULT_ROOT, FILES
from zerovl.models import ImageTextDataPreprocessor

PACK = [dict(type='PackImageLabel')]


def write_idx(path, array, magic):
    header = magic.to_bytes(4, 'big') + b''.join(int(n).to_bytes(4, 'big') for n in array.shape)
    with gzip.open(path, 'wb') as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


@pytest.fixture
def small_idx_root(tmp_path):
    """A 'test' split of 20 images: image i is filled with the value i, its label is i % 10."""
    images = np.repeat(np.arange(20, dtype=np.uint8)[:, None, None], 28 * 28, axis=1).reshape(20, 28, 28)
    labels = np.arange(20, dtype=np.uint8) % 10
    write_idx(tmp_path / FILES['test'][0], images, 0x803)
    write_idx(tmp_path / FILES['test'][1], labels, 0x801)
    return tmp_path


def test_fashion_mnist_reads_idx_files_as_rgb_samples(small_idx_root, zerovl_scope):
    dataset = FashionMNIST(data_root=str(small_idx_root), split='test', name='fm', pipeline=PACK)
    assert len(dataset) == 20 and dataset.metainfo['classes'] == CLASSES
    info = dataset.get_data_info(13)
    assert info['img'].shape == (28, 28, 3) and info['img'].dtype == np.uint8
    assert (info['img'] == 13).all() and info['gt_label'] == 3 and info['dataset_name'] == 'fm'
    sample = dataset[13]
    assert sample['data_samples'] == dict(gt_label=3, dataset_name='fm', sample_idx=13)
    assert sample['inputs']['images'].shape == (3, 28, 28)


def test_fashion_mnist_balanced_subset_takes_the_first_of_each_class(small_idx_root):
    dataset = FashionMNIST(data_root=str(small_idx_root), split='test', num_samples=13)
    # 13 = 10 x 1 + 3: one of each class, a second of classes 0-2 (images 10-12), kept in file order.
    assert [int(dataset.get_data_info(i)['img'][0, 0, 0]) for i in range(len(dataset))] == list(range(13))
    with pytest.raises(ValueError, match='needs 3 samples of class 0'):
        FashionMNIST(data_root=str(small_idx_root), split='test', num_samples=30)


def test_fashion_mnist_errors_name_the_file(small_idx_root, tmp_path_factory):
    images_path = small_idx_root / FILES['test'][0]
    write_idx(images_path, np.zeros(5, dtype=np.uint8), 0x801)  # a label file where the images should be
    with pytest.raises(ValueError, match=r't10k-images-idx3-ubyte\.gz: IDX magic number 0x00000801'):
        FashionMNIST(data_root=str(small_idx_root), split='test')
    with gzip.open(images_path, 'wb') as f:
        f.write((0x803).to_bytes(4, 'big') + b''.join(n.to_bytes(4, 'big') for n in (20, 28, 28)) + b'\0' * 100)
    with pytest.raises(ValueError, match='truncated or corrupt'):
        FashionMNIST(data_root=str(small_idx_root), split='test')
    empty = tmp_path_factory.mktemp('empty')
    with pytest.raises(FileNotFoundError, match='apt-get install dataset-fashion-mnist'):
        FashionMNIST(data_root=str(empty), split='train')
    with pytest.raises(ValueError, match='split'):
        FashionMNIST(data_root=str(empty), split='valid')


def test_real_debian_fashion_mnist():
    if not all(osp.isfile(osp.join(DEFAULT_ROOT, name)) for names in FILES.values() for name in names):
        pytest.skip(f'Fashion-MNIST not found in {DEFAULT_ROOT} (apt-get install dataset-fashion-mnist)')
    test = FashionMNIST(split='test')
    assert len(test) == 10000 and len(FashionMNIST(split='train')) == 60000
    labels = [test.get_data_info(i)['gt_label'] for i in range(len(test))]
    assert np.bincount(labels).tolist() == [1000] * 10  # the published test split is balanced
    first = test.get_data_info(0)
    assert first['gt_label'] == 9 and first['img'].shape == (28, 28, 3)  # an ankle boot, as published
    assert 0 < first['img'].mean() < 255


def make_image_folder(root):
    """root/<class>/...png; 'cat' has a nested sub-folder, and a non-image file that must be ignored."""
    rng = np.random.default_rng(0)
    layout = {'dog': ['d0.png', 'd1.png'], 'cat': ['c0.png', 'nested/c1.png'], 'bird': ['b0.png']}
    for class_name, files in layout.items():
        for name in files:
            path = osp.join(root, class_name, name)
            os.makedirs(osp.dirname(path), exist_ok=True)
            cv2.imwrite(path, rng.integers(0, 256, (6, 8, 3), dtype=np.uint8))
    with open(osp.join(root, 'cat', 'notes.txt'), 'w') as f:
        f.write('not an image')


def test_image_folder_classes_are_sorted_folders(tmp_path, zerovl_scope):
    make_image_folder(str(tmp_path))
    dataset = ImageFolderDataset(str(tmp_path), name='toy', pipeline=[dict(type='LoadImageFromFile')] + PACK)
    assert dataset.metainfo['classes'] == ('bird', 'cat', 'dog')
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert [(osp.relpath(i['img_path'], tmp_path), i['gt_label']) for i in infos] == [
        ('bird/b0.png', 0), ('cat/c0.png', 1), ('cat/nested/c1.png', 1), ('dog/d0.png', 2), ('dog/d1.png', 2)]
    sample = dataset[3]
    assert sample['inputs']['images'].shape == (3, 6, 8)
    assert sample['data_samples'] == dict(gt_label=2, dataset_name='toy', sample_idx=3, img_path=infos[3]['img_path'])


def test_image_folder_list_file_and_its_errors(tmp_path, zerovl_scope):
    make_image_folder(str(tmp_path))
    (tmp_path / 'val.txt').write_text('dog/d0.png 2\ncat/c0.png cat\n\nbird/b0.png 0\n')
    dataset = ImageFolderDataset(str(tmp_path), ann_file='val.txt', classes=['bird', 'cat', 'dog'])
    assert [dataset.get_data_info(i)['gt_label'] for i in range(3)] == [2, 1, 0]
    assert dataset.get_data_info(1)['row'] == 2 and dataset.get_data_info(1)['ann_file'].endswith('val.txt')
    # Integer labels alone define the classes when none are given.
    (tmp_path / 'ints.txt').write_text('dog/d0.png 2\nbird/b0.png 0\n')
    assert ImageFolderDataset(str(tmp_path), ann_file='ints.txt').metainfo['classes'] == ('0', '1', '2')
    (tmp_path / 'bad.txt').write_text('dog/d0.png 2\ncat/c0.png lion\n')
    with pytest.raises(ValueError, match=r"bad\.txt line 2: unknown label 'lion'"):
        ImageFolderDataset(str(tmp_path), ann_file='bad.txt', classes=['bird', 'cat', 'dog'])
    (tmp_path / 'range.txt').write_text('dog/d0.png 3\n')
    with pytest.raises(ValueError, match=r'range\.txt line 1: label 3 is not a known class index \(0\.\.2\)'):
        ImageFolderDataset(str(tmp_path), ann_file='range.txt', classes=['bird', 'cat', 'dog'])


def test_image_folder_refuses_empty_classes_and_roots(tmp_path):
    make_image_folder(str(tmp_path / 'data'))
    os.makedirs(tmp_path / 'data' / 'emu')
    with pytest.raises(ValueError, match=r'class folder .*emu holds no image'):
        ImageFolderDataset(str(tmp_path / 'data'))
    os.makedirs(tmp_path / 'empty')
    with pytest.raises(ValueError, match=r'empty has no class sub-folders'):
        ImageFolderDataset(str(tmp_path / 'empty'))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        ImageFolderDataset(str(tmp_path / 'missing'))


def test_classification_batches_go_through_the_image_text_collate_and_preprocessor(small_idx_root, zerovl_scope):
    dataset = FashionMNIST(data_root=str(small_idx_root), split='test',
                           pipeline=[dict(type='ResizeImage', size=32)] + PACK)
    batch = image_text_collate([dataset[i] for i in range(4)])
    assert batch['inputs']['images'].shape == (4, 3, 32, 32) and batch['inputs']['images'].dtype == torch.uint8
    assert [s['gt_label'] for s in batch['data_samples']] == [0, 1, 2, 3]
    processed = ImageTextDataPreprocessor(mean=[0.0] * 3, std=[1.0] * 3)(batch)
    assert processed['inputs']['images'].dtype == torch.float32
    assert processed['data_samples'] == batch['data_samples']


def test_pack_image_label_wants_an_integer_label(zerovl_scope):
    from zerovl.datasets.transforms import PackImageLabel
    img = np.zeros((4, 4, 3), dtype=np.uint8)
    assert PackImageLabel()(dict(img=img, gt_label=np.int64(7)))['data_samples'] == dict(gt_label=7)
    with pytest.raises(ValueError, match='integer class index'):
        PackImageLabel()(dict(img=img, gt_label=2.5))
    with pytest.raises(KeyError, match='no gt_label'):
        PackImageLabel()(dict(img=img))
