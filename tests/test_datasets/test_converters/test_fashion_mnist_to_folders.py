"""tools/dataset_converters/fashion_mnist_to_folders.py: the class folders hold exactly the images (pixel for
pixel) and labels the FashionMNIST dataset serves for the same split and balanced subset."""
import gzip
import os

import numpy as np
from PIL import Image

from zerovl.datasets.fashion_mnist import FILES, FashionMNIST
from zerovl.models.zero_shot_prompts import FASHION_MNIST_CLASSES
from zerovl.testing import load_script


def write_idx(path, array, magic):
    header = magic.to_bytes(4, 'big') + b''.join(int(n).to_bytes(4, 'big') for n in array.shape)
    with gzip.open(path, 'wb') as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def test_folders_hold_the_datasets_images_and_labels(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8)
    labels = rng.permutation(np.arange(30) % 10).astype(np.uint8)
    write_idx(tmp_path / FILES['test'][0], images, 0x803)
    write_idx(tmp_path / FILES['test'][1], labels, 0x801)
    out = tmp_path / 'folders'
    tool = load_script('tools/dataset_converters/fashion_mnist_to_folders.py')
    assert tool.main([str(out), '--data-root', str(tmp_path), '--num-samples', '20']) == 0

    dataset = FashionMNIST(data_root=str(tmp_path), split='test', num_samples=20)
    written = {(folder, name) for folder in os.listdir(out / 'test') for name in os.listdir(out / 'test' / folder)}
    assert len(written) == len(dataset) == 20
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        folder = FASHION_MNIST_CLASSES[info['gt_label']].replace(' ', '_')
        matches = [name for f, name in written if f == folder
                   and np.array_equal(np.asarray(Image.open(out / 'test' / f / name)), info['img'])]
        assert len(matches) == 1, f'sample {index} ({folder}) not written exactly once'
    assert tool.main([str(out), '--data-root', str(tmp_path / 'missing')]) == 1
