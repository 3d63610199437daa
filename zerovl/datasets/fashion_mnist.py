"""Fashion-MNIST read from its gzipped IDX files: a small real classification set for CPU demos.

Debian packages the set as ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``), so a
linear probe can run offline without a download step. The IDX format is parsed here with numpy: a
big-endian header (magic number ``0x00000803`` for 3-D unsigned-byte images, ``0x00000801`` for 1-D
labels, then one 32-bit size per dimension) followed by the raw bytes.

The 28 x 28 grey images are served as (28, 28, 3) uint8 RGB ``img`` arrays (grey copied to the three
channels), so the pipeline needs no loading transform and the towers see the input they were built for.
"""
import gzip
import os.path as osp
import zlib
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmengine.dataset import BaseDataset

from zerovl.registry import DATASETS

DEFAULT_ROOT = '/usr/share/datasets/fashion-mnist'
INSTALL_HINT = 'on Debian/Ubuntu: apt-get install dataset-fashion-mnist'
CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag',
           'Ankle boot')
FILES = {
    'train': ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
    'test': ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'),
}
IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
IMAGE_SIZE = 28


def read_idx(path: str, magic: int) -> np.ndarray:
    """The uint8 array of a gzipped IDX file whose header must carry ``magic``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'Fashion-MNIST file {path} not found ({INSTALL_HINT}, or set data_root '
                                'to a folder holding the four *-ubyte.gz files)')
    try:
        with gzip.open(path, 'rb') as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f'Fashion-MNIST file {path} is not a readable gzip file ({error})') from None
    found = int.from_bytes(raw[:4], 'big') if len(raw) >= 4 else None
    if found != magic:
        shown = f'0x{found:08x}' if found is not None else f'missing ({len(raw)} bytes)'
        raise ValueError(f'Fashion-MNIST file {path}: IDX magic number {shown}, expected 0x{magic:08x} '
                         '(images and labels swapped, or not an IDX file)')
    num_dims = magic & 0xFF  # the magic's last byte is the number of dimensions
    header_size = 4 + 4 * num_dims
    if len(raw) < header_size:
        raise ValueError(f'Fashion-MNIST file {path}: {len(raw)} bytes, shorter than its IDX header')
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(num_dims))
    expected = int(np.prod(shape))
    if len(raw) - header_size != expected:
        raise ValueError(f'Fashion-MNIST file {path}: header says shape {shape} ({expected} bytes), the file '
                         f'holds {len(raw) - header_size} bytes of data (truncated or corrupt)')
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


def load_split(data_root: str, split: str) -> Tuple[np.ndarray, np.ndarray]:
    """(N, 28, 28) uint8 images and (N,) int64 labels of ``split``, validated against each other."""
    if split not in FILES:
        raise ValueError(f'FashionMNIST: split must be one of {tuple(FILES)}, got {split!r}')
    images_path, labels_path = (osp.join(data_root, name) for name in FILES[split])
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f'Fashion-MNIST file {images_path}: images are {images.shape[1:]}, expected '
                         f'({IMAGE_SIZE}, {IMAGE_SIZE})')
    if len(images) != len(labels):
        raise ValueError(f'Fashion-MNIST: {images_path} holds {len(images)} images but {labels_path} '
                         f'{len(labels)} labels')
    if len(labels) and labels.max() >= len(CLASSES):
        raise ValueError(f'Fashion-MNIST file {labels_path}: label {labels.max()} outside 0..{len(CLASSES) - 1}')
    return images, labels.astype(np.int64)


def balanced_subset(labels: np.ndarray, num_samples: int, num_classes: int) -> np.ndarray:
    """Indices of the first ``num_samples // num_classes`` samples of each class in file order, plus one
    more for each of the first ``num_samples % num_classes`` classes; returned in file order.

    Balanced so that a small demo is scored on every class alike, and "first in file order" so that the
    subset is the same on every machine without a seed."""
    per_class = [num_samples // num_classes + (1 if c < num_samples % num_classes else 0)
                 for c in range(num_classes)]
    chosen = []
    for label, count in enumerate(per_class):
        members = np.flatnonzero(labels == label)
        if len(members) < count:
            raise ValueError(f'FashionMNIST: num_samples={num_samples} needs {count} samples of class {label}, '
                             f'the split has {len(members)}')
        chosen.append(members[:count])
    return np.sort(np.concatenate(chosen))


@DATASETS.register_module()
class FashionMNIST(BaseDataset):
    """Fashion-MNIST's 60k training or 10k test images, 10 classes (``metainfo['classes']``).

    Args:
        data_root: folder of the four ``*-ubyte.gz`` files (Debian's package by default).
        split: ``'train'`` or ``'test'``.
        name: reported as ``dataset_name``; the accuracy is keyed ``{name}/top1``.
        num_samples: None for the whole split, else a balanced subset of this many samples (see
            :func:`balanced_subset`), for demos and tests.
        pipeline: transforms applied to the (28, 28, 3) uint8 RGB ``img``; no loading transform.
        **kwargs: other ``mmengine.dataset.BaseDataset`` arguments.

    Samples: ``img``, ``img_shape``, ``ori_shape``, ``gt_label`` (int), ``dataset_name``, ``sample_idx``.
    """

    METAINFO = dict(classes=CLASSES)

    def __init__(self,
                 data_root: str = DEFAULT_ROOT,
                 split: str = 'train',
                 name: str = 'fashion_mnist',
                 num_samples: Optional[int] = None,
                 pipeline: Sequence = (),
                 test_mode: bool = False,
                 **kwargs) -> None:
        if split not in FILES:
            raise ValueError(f'FashionMNIST: split must be one of {tuple(FILES)}, got {split!r}')
        if num_samples is not None and (isinstance(num_samples, bool) or not isinstance(num_samples, int)
                                        or num_samples < 1):
            raise ValueError(f'FashionMNIST: num_samples must be a positive int or None, got {num_samples!r}')
        self.split = split
        self.name = name
        self.num_samples = num_samples
        self.images: Optional[np.ndarray] = None
        super().__init__(data_root=data_root, pipeline=list(pipeline), test_mode=test_mode, **kwargs)

    def load_data_list(self) -> List[dict]:
        images, labels = load_split(self.data_root, self.split)
        keep = np.arange(len(labels)) if self.num_samples is None else \
            balanced_subset(labels, self.num_samples, len(CLASSES))
        # The pixels stay in one array (47 MB for the training split); each record only points into it,
        # so mmengine's per-record serialisation copies no image, and its ``indices`` subsets still work.
        self.images = images
        return [dict(array_index=int(index), gt_label=int(labels[index])) for index in keep]

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)  # adds 'sample_idx'
        grey = self.images[info.pop('array_index')]
        info['img'] = np.repeat(grey[:, :, None], 3, axis=2)
        info['img_shape'] = info['ori_shape'] = grey.shape
        info['dataset_name'] = self.name
        return info
