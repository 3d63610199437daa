"""Images per second of the data path: LMDB + OpenCV vs files + OpenCV vs files + PIL, side by side.

    python tools/benchmarks/benchmark_dataloader.py --num-images 2000 --workers 0 2 --repeats 3

Generates ``--num-images`` JPEGs of natural-looking content (noise with a 1/f-like spectrum plus
shapes, sides 256-500 px, quality 90) in ZeroVL's layout, converts them to LMDB, and times a full
DataLoader pass over the same images for each decode path, worker count and augmentation setting:

* ``lmdb+cv2`` / ``files+cv2``: zerovl's ``ImageTextDataset`` and ``LoadImageFromFile`` (cv2.imdecode);
* ``files+PIL``: the same dataset with the original ZeroVL image path, written here: PIL open +
  convert('RGB') and torchvision's PIL transforms.

Augmentation off: decode + resize to 224 x 224. On: decode + RandomResizedCrop(224, scale 0.6-1) +
horizontal flip (mmpretrain's with the cv2 backend for the cv2 paths, torchvision's for PIL). Captions
are not tokenised: only the image path differs between the rows. Configurations are interleaved and
repeated, and the median is reported, so that every ratio compares runs made side by side.
"""
import argparse
import os
import os.path as osp
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence

import cv2
import lmdb
import numpy as np
import PIL
import torch
from PIL import Image
from torch.utils.data import DataLoader

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import zerovl.datasets  # noqa: E402,F401  (registers the transforms)
from zerovl.datasets import ImageTextDataset, convert_csv_to_lmdb  # noqa: E402
from zerovl.utils.benchmarking import describe_machine, publish_report  # noqa: E402

PATHS = ('lmdb+cv2', 'files+cv2', 'files+PIL')
BASELINE = 'files+PIL'
SIZE = 224
NAME = 'bench'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--num-images', type=int, default=2000)
    parser.add_argument('--min-side', type=int, default=256)
    parser.add_argument('--max-side', type=int, default=500)
    parser.add_argument('--workers', type=int, nargs='+', default=[0, 2])
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--repeats', type=int, default=3, help='timed passes per configuration (median kept)')
    parser.add_argument('--data-dir', help='where to generate the images (default: a temporary folder)')
    parser.add_argument('--markdown-out', help='also write the table and the machine description here')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


# ------------------------------------------------------------------------------------------ the images

def natural_image(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """RGB uint8 with photo-like statistics: smooth colour regions, edges and fine texture.

    Flat synthetic shapes compress to a few KB and decode unrealistically fast; noise octaves with
    amplitude growing with scale give a roughly 1/f spectrum, as natural images have.
    """
    img = np.zeros((height, width, 3), np.float32)
    for scale, amplitude in ((64, 60.0), (16, 30.0), (4, 12.0)):
        small = rng.normal(size=(max(2, height // scale), max(2, width // scale), 3)).astype(np.float32)
        img += amplitude * cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(2, 6))):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        axes = (int(rng.integers(10, width // 3)), int(rng.integers(10, height // 3)))
        cv2.ellipse(img, centre, axes, float(rng.uniform(0, 180)), 0, 360, rng.uniform(-80, 80, 3).tolist(), -1)
    img += rng.normal(0.0, 4.0, size=(height, width, 1)).astype(np.float32)
    return np.clip(img + 128.0, 0, 255).astype(np.uint8)


def generate(data_dir: str, num_images: int, min_side: int, max_side: int, seed: int) -> str:
    """Write {data_dir}/bench/train_anno.csv + train/*.jpg and the LMDB copy; returns data_dir."""
    img_dir = osp.join(data_dir, NAME, 'train')
    os.makedirs(img_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    lines = ['image,image_id,caption,caption_id']
    for i in range(num_images):
        height, width = (int(side) for side in rng.integers(min_side, max_side + 1, size=2))
        bgr = natural_image(rng, height, width)[:, :, ::-1]
        cv2.imwrite(osp.join(img_dir, f'{i:06d}.jpg'), bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
        lines.append(f'{i:06d}.jpg,{i},a picture number {i},{i}')
    ann_file = osp.join(data_dir, NAME, 'train_anno.csv')
    with open(ann_file, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')
    convert_csv_to_lmdb(ann_file, img_dir, osp.join(data_dir, NAME, 'train.lmdb'), progress=False)
    return data_dir


# ------------------------------------------------------------------------------------------ the pipelines

class PILLoad:
    """The original ZeroVL image loading: PIL decode, converted to RGB."""

    def __call__(self, results: dict) -> dict:
        with open(results['img_path'], 'rb') as f:
            results['img'] = Image.open(f).convert('RGB')
        return results


class PILTransform:
    """A torchvision transform on the PIL image, then an (H, W, 3) uint8 array as the cv2 paths give."""

    def __init__(self, transform) -> None:
        self.transform = transform

    def __call__(self, results: dict) -> dict:
        results['img'] = np.asarray(self.transform(results['img']))
        return results


class ToTensor:
    """The end of every pipeline: the image as a tensor, the only thing the collate function keeps."""

    def __call__(self, results: dict) -> torch.Tensor:
        img = results['img']
        # np.asarray of a PIL image is read-only; copy so that torch gets a writable buffer on every path.
        return torch.from_numpy(img if img.flags.writeable and img.flags.c_contiguous else img.copy())


def pipeline(path: str, augment: bool) -> list:
    if path == BASELINE:
        from torchvision import transforms as T  # the original code's transforms
        ops = (T.Compose([T.RandomResizedCrop(SIZE, scale=(0.6, 1.0)), T.RandomHorizontalFlip()]) if augment
               else T.Resize((SIZE, SIZE)))
        return [PILLoad(), PILTransform(ops), ToTensor()]
    if augment:
        ops = [dict(type='mmpretrain.RandomResizedCrop', scale=SIZE, crop_ratio_range=(0.6, 1.0),
                    interpolation='bilinear', backend='cv2'),
               dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal')]
    else:
        ops = [dict(type='ResizeImage', size=SIZE, interpolation='bilinear', backend='cv2')]
    return [dict(type='LoadImageFromFile'), *ops, ToTensor()]


def build_dataset(data_dir: str, path: str, augment: bool) -> ImageTextDataset:
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('zerovl'):
        return ImageTextDataset(data_root=data_dir, name=NAME, source='lmdb' if path.startswith('lmdb') else 'files',
                                on_error='raise', pipeline=pipeline(path, augment))


# ------------------------------------------------------------------------------------------ timing

def images_per_second(dataset, workers: int, batch_size: int, seed: int) -> float:
    """One full shuffled pass; the clock starts after the first batch (worker start-up excluded)."""
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers,
                        collate_fn=torch.stack, generator=torch.Generator().manual_seed(seed))
    batches = iter(loader)
    first = len(next(batches))
    start = time.perf_counter()
    count = sum(len(batch) for batch in batches)
    elapsed = time.perf_counter() - start
    if count == 0:  # a single batch: time it whole rather than report nothing
        return first / max(elapsed, 1e-9)
    return count / elapsed


def run(data_dir: str, workers: Sequence[int], batch_size: int, repeats: int, seed: int) -> List[dict]:
    configs = [(path, w, augment) for augment in (False, True) for w in workers for path in PATHS]
    datasets = {(path, augment): build_dataset(data_dir, path, augment) for path in PATHS for augment in (False, True)}
    timings: Dict[tuple, List[float]] = {config: [] for config in configs}
    for repeat in range(repeats):
        for config in configs:  # interleaved: slow drift of the machine hits every path alike
            path, w, augment = config
            torch.manual_seed(seed + repeat)
            timings[config].append(images_per_second(datasets[(path, augment)], w, batch_size, seed + repeat))
    rows = []
    for path, w, augment in configs:
        rate = statistics.median(timings[(path, w, augment)])
        base = statistics.median(timings[(BASELINE, w, augment)])
        rows.append(dict(path=path, workers=w, augment=augment, rate=rate, ratio=rate / base))
    return rows


def markdown_table(rows: List[dict]) -> str:
    lines = ['| decode path | workers | augmentation | images/s | vs files+PIL |',
             '|---|---:|---|---:|---:|']
    for row in rows:
        augment = 'RandomResizedCrop + flip' if row['augment'] else 'off (resize 224)'
        lines.append(f"| {row['path']} | {row['workers']} | {augment} | {row['rate']:.0f} | {row['ratio']:.2f}x |")
    return '\n'.join(lines)


def machine() -> str:
    return describe_machine({'OpenCV': cv2.__version__, 'Pillow': PIL.__version__, 'lmdb': lmdb.__version__})


def single_threaded_main_process() -> None:
    """As mmengine's runner sets up training: OpenCV without its own thread pool (parallelism comes
    from DataLoader workers), and one torch thread for the collate. With torch's default of one
    OpenMP thread per core, stacking a batch on a busy 2-core machine took 40x longer (threads spin
    against each other and the workers) and dominated every configuration alike."""
    cv2.setNumThreads(0)
    torch.set_num_threads(1)


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    single_threaded_main_process()
    command = 'python tools/benchmarks/benchmark_dataloader.py ' + ' '.join(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or tmp
        start = time.perf_counter()
        generate(data_dir, args.num_images, args.min_side, args.max_side, args.seed)
        mean_kb = np.mean([os.path.getsize(p) for p in Path(data_dir, NAME, 'train').glob('*.jpg')]) / 1024
        print(f'generated {args.num_images} JPEGs (mean {mean_kb:.0f} KB) and their LMDB in '
              f'{time.perf_counter() - start:.1f} s')
        rows = run(data_dir, args.workers, args.batch_size, args.repeats, args.seed)
    publish_report([f'Machine: {machine()}', f'Command: `{command}`',
                    f'Images: {args.num_images} JPEGs, sides {args.min_side}-{args.max_side} px, '
                    f'mean {mean_kb:.0f} KB; batch size {args.batch_size}; median of {args.repeats} pass(es)'],
                   markdown_table(rows), args.markdown_out)
    return rows


if __name__ == '__main__':
    main()
