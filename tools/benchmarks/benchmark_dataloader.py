"""Samples per second of the data path, side by side: decode paths, and whole training pipelines.

    python tools/benchmarks/benchmark_dataloader.py --num-images 2000 --workers 0 2 --repeats 3

Generates ``--num-images`` JPEGs of natural-looking content (noise with a 1/f-like spectrum plus
shapes, sides 256-500 px, quality 90) with captions of 8-16 words in ZeroVL's layout, converts them to
LMDB, and times a full DataLoader pass over the same images for each configuration of two tables.

Decode paths (``--tables decode``), captions not tokenised, only the image path differs:

* ``lmdb+cv2`` / ``files+cv2``: zerovl's ``ImageTextDataset`` and ``LoadImageFromFile`` (cv2.imdecode);
* ``files+PIL``: the same dataset with the original ZeroVL image path, written here: PIL open +
  convert('RGB') and torchvision's PIL transforms.

Augmentation off: decode + resize to 224 x 224. On: decode + RandomResizedCrop(224, scale 0.6-1) +
horizontal flip (mmpretrain's with the cv2 backend for the cv2 paths, torchvision's for PIL).

Training pipelines (``--tables train``), file to packed batch, see dataloader_pipelines.py: zerovl's
train pipeline, its mmpretrain-based reference, and torchvision's RandomResizedCrop + ImageNet
AutoAugment on PIL images without text (the original image path; the ratio column) and with the same
caption augmentation and tokens. ``--workers 0`` is the per-core figure. ``--tables stages`` splits
the CPU time of zerovl's two training pipelines by step.

Configurations are interleaved and repeated, and the median is reported, so that every ratio compares
runs made side by side.
"""
import argparse
import os
import os.path as osp
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import lmdb
import numpy as np
import PIL
import torch
from torch.utils.data import DataLoader

# Run from a checkout without installing the package; the pipelines live beside this script.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import zerovl.datasets  # noqa: E402,F401  (registers the transforms)
from dataloader_pipelines import (TRAIN_BASELINE, TRAIN_ROWS, captions, decode_pipeline,  # noqa: E402
                                  train_pipeline, write_vocab)
from zerovl.datasets import ImageTextDataset, convert_csv_to_lmdb, image_text_collate  # noqa: E402
from zerovl.utils.benchmarking import describe_machine, publish_report  # noqa: E402

PATHS = ('lmdb+cv2', 'files+cv2', 'files+PIL')
BASELINE = 'files+PIL'
TABLES = ('decode', 'train', 'stages')
STAGE_ROWS = ('zerovl reference', 'zerovl fast')
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
    parser.add_argument('--tables', nargs='+', choices=TABLES, default=list(TABLES),
                        help='decode: decode paths; train: whole training pipelines with captions; stages: CPU time '
                             'of each step of the zerovl training pipelines')
    parser.add_argument('--tokenizer', help='tokenizer of the training rows (default: a WordPiece vocabulary '
                                            'of the generated captions, written beside them)')
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
    """Write {data_dir}/bench/train_anno.csv + train/*.jpg, the LMDB copy and vocab.txt; returns data_dir."""
    img_dir = osp.join(data_dir, NAME, 'train')
    os.makedirs(img_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    lines = ['image,image_id,caption,caption_id']
    texts = captions(np.random.default_rng(seed + 1), num_images)  # a stream of their own: same images as before
    for i in range(num_images):
        height, width = (int(side) for side in rng.integers(min_side, max_side + 1, size=2))
        bgr = natural_image(rng, height, width)[:, :, ::-1]
        cv2.imwrite(osp.join(img_dir, f'{i:06d}.jpg'), bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
        lines.append(f'{i:06d}.jpg,{i},{texts[i]},{i}')
    ann_file = osp.join(data_dir, NAME, 'train_anno.csv')
    with open(ann_file, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')
    convert_csv_to_lmdb(ann_file, img_dir, osp.join(data_dir, NAME, 'train.lmdb'), progress=False)
    write_vocab(osp.join(data_dir, NAME, 'vocab.txt'))
    return data_dir


# ------------------------------------------------------------------------------------------ the datasets

def dataset_of(data_dir: str, pipeline: list, source: str = 'files') -> ImageTextDataset:
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('zerovl'):
        return ImageTextDataset(data_root=data_dir, name=NAME, source=source, on_error='raise', pipeline=pipeline)


def build_dataset(data_dir: str, path: str, augment: bool) -> ImageTextDataset:
    """The decode-path dataset of ``path`` (one of PATHS)."""
    return dataset_of(data_dir, decode_pipeline(path, augment, BASELINE), 'lmdb' if path.startswith('lmdb') else 'files')


def build_train_dataset(data_dir: str, row: str, tokenizer: str) -> ImageTextDataset:
    """The training-pipeline dataset of ``row`` (one of TRAIN_ROWS)."""
    return dataset_of(data_dir, train_pipeline(row, tokenizer))


# ------------------------------------------------------------------------------------------ timing

def batch_length(batch) -> int:
    return len(batch['inputs']['images']) if isinstance(batch, dict) else len(batch)


def pass_rates(dataset, workers: int, batch_size: int, seed: int,
               collate_fn: Callable = torch.stack) -> Tuple[float, Optional[float]]:
    """Samples per second of one full shuffled pass, by the wall clock and, with ``workers=0``, per
    second of this process's CPU time (None with workers: their CPU time is not this process's).

    The clock starts after the first batch (worker start-up excluded). The CPU rate is the per-core
    cost without the time spent waiting for a core, which on a machine shared with other jobs is the
    steadier of the two.
    """
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers,
                        collate_fn=collate_fn, generator=torch.Generator().manual_seed(seed))
    batches = iter(loader)
    first = batch_length(next(batches))
    start, cpu_start = time.perf_counter(), time.process_time()
    count = sum(batch_length(batch) for batch in batches)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    if count == 0:  # a single batch: time it whole rather than report nothing
        count = first
    return count / max(elapsed, 1e-9), (count / max(cpu, 1e-9) if workers == 0 else None)


def images_per_second(dataset, workers: int, batch_size: int, seed: int, collate_fn: Callable = torch.stack) -> float:
    return pass_rates(dataset, workers, batch_size, seed, collate_fn)[0]


def interleaved_medians(configs: Sequence[tuple], measure: Callable[[tuple, int], float], repeats: int) -> Dict:
    """Median rate of each configuration, measured ``repeats`` times in turn rather than one after the
    other, so that slow drift of a shared machine hits every configuration alike. ``measure`` may
    return a tuple of rates: each gets its own median (None stays None)."""
    timings: Dict[tuple, list] = {config: [] for config in configs}
    for repeat in range(repeats):
        for config in configs:
            timings[config].append(measure(config, repeat))

    def median(values):
        if isinstance(values[0], tuple):
            return tuple(None if column[0] is None else statistics.median(column) for column in zip(*values))
        return statistics.median(values)
    return {config: median(values) for config, values in timings.items()}


def run(data_dir: str, workers: Sequence[int], batch_size: int, repeats: int, seed: int) -> List[dict]:
    """The decode-path rows: every path, worker count and augmentation setting, vs files+PIL."""
    configs = [(path, w, augment) for augment in (False, True) for w in workers for path in PATHS]
    datasets = {(path, augment): build_dataset(data_dir, path, augment) for path in PATHS for augment in (False, True)}

    def measure(config, repeat):
        path, w, augment = config
        torch.manual_seed(seed + repeat)
        return images_per_second(datasets[(path, augment)], w, batch_size, seed + repeat)

    rates = interleaved_medians(configs, measure, repeats)
    return [dict(path=path, workers=w, augment=augment, rate=rates[(path, w, augment)],
                 ratio=rates[(path, w, augment)] / rates[(BASELINE, w, augment)]) for path, w, augment in configs]


def run_train(data_dir: str, workers: Sequence[int], batch_size: int, repeats: int, seed: int,
              tokenizer: str) -> List[dict]:
    """The training-pipeline rows: every row and worker count, vs torchvision PIL (image only)."""
    configs = [(row, w) for w in workers for row in TRAIN_ROWS]
    datasets = {row: build_train_dataset(data_dir, row, tokenizer) for row in TRAIN_ROWS}

    def measure(config, repeat):
        row, w = config
        # numpy draws the zerovl augmentations (seeded per worker by mmengine in training), torch torchvision's.
        np.random.seed(seed + repeat)
        torch.manual_seed(seed + repeat)
        return pass_rates(datasets[row], w, batch_size, seed + repeat, image_text_collate)

    rates = interleaved_medians(configs, measure, repeats)
    rows = []
    for row, w in configs:
        (rate, cpu_rate), (base, cpu_base) = rates[(row, w)], rates[(TRAIN_BASELINE, w)]
        rows.append(dict(pipeline=row, workers=w, rate=rate, ratio=rate / base, cpu_rate=cpu_rate,
                         cpu_ratio=None if cpu_rate is None else cpu_rate / cpu_base))
    return rows


def stage_cpu_times(dataset, seed: int) -> List[float]:
    """CPU microseconds per sample of each step of ``dataset``'s pipeline, over one pass in index order."""
    np.random.seed(seed)
    totals = [0.0] * len(dataset.pipeline.transforms)
    for index in range(len(dataset)):
        results = dataset.get_data_info(index)
        for step, transform in enumerate(dataset.pipeline.transforms):
            start = time.process_time()
            results = transform(results)
            totals[step] += time.process_time() - start
    return [1e6 * total / len(dataset) for total in totals]


def run_stages(data_dir: str, repeats: int, seed: int, tokenizer: str) -> List[dict]:
    """Per step, the median CPU time of the reference and the fast training pipelines (same step order)."""
    datasets = {row: build_train_dataset(data_dir, row, tokenizer) for row in STAGE_ROWS}
    for dataset in datasets.values():  # tokenizers and imports are built on first use: not timed
        dataset[0]
    times = interleaved_medians([(row,) for row in STAGE_ROWS],
                                lambda config, repeat: tuple(stage_cpu_times(datasets[config[0]], seed + repeat)),
                                repeats)
    steps = zip(*(datasets[row].pipeline.transforms for row in STAGE_ROWS))
    return [dict(steps=[type(t).__name__ for t in pair], **{row: times[(row,)][i] for row in STAGE_ROWS})
            for i, pair in enumerate(steps)]


def stages_markdown_table(rows: List[dict]) -> str:
    lines = ['| step (reference / fast) | reference µs per sample | fast µs per sample |', '|---|---:|---:|']
    for row in rows:
        name = row['steps'][0] if len(set(row['steps'])) == 1 else ' / '.join(row['steps'])
        lines.append(f"| {name} | {row['zerovl reference']:.0f} | {row['zerovl fast']:.0f} |")
    total = [sum(row[name] for row in rows) for name in STAGE_ROWS]
    lines.append(f'| total | {total[0]:.0f} | {total[1]:.0f} |')
    return '\n'.join(lines)


def markdown_table(rows: List[dict]) -> str:
    lines = ['| decode path | workers | augmentation | images/s | vs files+PIL |',
             '|---|---:|---|---:|---:|']
    for row in rows:
        augment = 'RandomResizedCrop + flip' if row['augment'] else 'off (resize 224)'
        lines.append(f"| {row['path']} | {row['workers']} | {augment} | {row['rate']:.0f} | {row['ratio']:.2f}x |")
    return '\n'.join(lines)


def train_markdown_table(rows: List[dict]) -> str:
    lines = [f'| training pipeline | workers | samples/s | vs {TRAIN_BASELINE} | samples per CPU-second | '
             f'vs {TRAIN_BASELINE} (CPU) |', '|---|---:|---:|---:|---:|---:|']
    for row in rows:
        cpu = ('—', '—') if row['cpu_rate'] is None else (f"{row['cpu_rate']:.0f}", f"{row['cpu_ratio']:.2f}x")
        lines.append(f"| {row['pipeline']} | {row['workers']} | {row['rate']:.0f} | {row['ratio']:.2f}x | "
                     f"{cpu[0]} | {cpu[1]} |")
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


def main(argv=None) -> Dict[str, List[dict]]:
    """The rows of each table asked for, by table name ('decode', 'train')."""
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
        results, tables = {}, []
        tokenizer = args.tokenizer or osp.join(data_dir, NAME, 'vocab.txt')
        if 'decode' in args.tables:
            results['decode'] = run(data_dir, args.workers, args.batch_size, args.repeats, args.seed)
            tables.append(markdown_table(results['decode']))
        if 'train' in args.tables:
            results['train'] = run_train(data_dir, args.workers, args.batch_size, args.repeats, args.seed, tokenizer)
            tables.append(train_markdown_table(results['train']))
        if 'stages' in args.tables:
            results['stages'] = run_stages(data_dir, args.repeats, args.seed, tokenizer)
            tables.append(stages_markdown_table(results['stages']))
    publish_report([f'Machine: {machine()}', f'Command: `{command}`',
                    f'Images: {args.num_images} JPEGs, sides {args.min_side}-{args.max_side} px, '
                    f'mean {mean_kb:.0f} KB; batch size {args.batch_size}; median of {args.repeats} pass(es)'],
                   '\n\n'.join(tables), args.markdown_out)
    return results


if __name__ == '__main__':
    main()
