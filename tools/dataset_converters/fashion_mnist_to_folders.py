"""Write Fashion-MNIST as an image folder (one sub-folder of PNGs per class), the local dataset layout that
clip_benchmark's zero-shot classification (tools/analysis_tools/clip_benchmark_local.py), torchvision's
ImageFolder and zerovl's ImageFolder dataset read.

    # apt-get install dataset-fashion-mnist puts the IDX files in /usr/share/datasets/fashion-mnist
    python tools/dataset_converters/fashion_mnist_to_folders.py data/fashion_mnist_folders --split test \\
        --num-samples 1000
    # data/fashion_mnist_folders/test/ankle_boot/00000.png, .../bag/..., ... (28 x 28, RGB)

Class folders are the names zerovl's zero-shot prompts use ('t-shirt', 'trousers', ..., 'ankle boot'), with
spaces written as '_', which clip_benchmark_local.py reads back as spaces. A PNG is named by the image's
index in the IDX file. --num-samples takes the same balanced subset as the FashionMNIST dataset's
num_samples (the first images of each class in file order), so both evaluate the same images.
"""
import argparse
import os
import os.path as osp
import sys
from pathlib import Path

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

DEFAULT_ROOT = '/usr/share/datasets/fashion-mnist'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out_dir', help='the folder to write; the split goes to OUT_DIR/SPLIT/CLASS/INDEX.png')
    parser.add_argument('--data-root', default=DEFAULT_ROOT, help=f'the IDX files (default {DEFAULT_ROOT})')
    parser.add_argument('--split', default='test', choices=('train', 'test'))
    parser.add_argument('--num-samples', type=int, help='a class-balanced subset of this many images (default all)')
    return parser.parse_args(argv)


def folder_names():
    from zerovl.models.zero_shot_prompts import FASHION_MNIST_CLASSES
    return [name.replace(' ', '_') for name in FASHION_MNIST_CLASSES]


def write_folders(data_root: str, out_dir: str, split: str, num_samples=None) -> dict:
    """Write the split's images; returns {class folder: number of images}."""
    import numpy as np
    from PIL import Image

    from zerovl.datasets.fashion_mnist import CLASSES, balanced_subset, load_split
    images, labels = load_split(data_root, split)
    keep = np.arange(len(labels)) if num_samples is None else balanced_subset(labels, num_samples, len(CLASSES))
    names = folder_names()
    counts = {name: 0 for name in names}
    for name in names:
        os.makedirs(osp.join(out_dir, split, name), exist_ok=True)
    for index in keep.tolist():
        name = names[labels[index]]
        Image.fromarray(images[index]).convert('RGB').save(osp.join(out_dir, split, name, f'{index:05d}.png'))
        counts[name] += 1
    return counts


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        counts = write_folders(args.data_root, args.out_dir, args.split, args.num_samples)
    except (FileNotFoundError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print(f'{sum(counts.values())} images in {len(counts)} class folders under {osp.join(args.out_dir, args.split)}: '
          + ', '.join(f'{name} {count}' for name, count in counts.items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
