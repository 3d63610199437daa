"""Start-up time and memory per rank, and loader throughput per core: img2dataset shards vs CSV vs LMDB.

    python tools/benchmarks/benchmark_shards.py --data-dir /tmp/shards_bench --sizes 100000 1000000 \\
        --throughput-samples 20000 --markdown-out /tmp/shards_report.txt

For every size N (samples), the data are written once under --data-dir (reused when present):

* ``s{N}/``: a synthetic shard set in img2dataset's layout (tools/dataset_converters/make_synthetic_shards.py);
* ``csv{N}/bench/train_anno.csv``: N rows naming files of an empty image folder (building an
  ``ImageTextDataset`` reads only the CSV, so start-up is measured without writing N image files);
* ``csv{N}/bench/train.lmdb``: its LMDB copy (rows only: every image is missing, which start-up never reads).

Start-up: a fresh Python process per (path, size) imports zerovl, then builds the training dataset as a
rank does (``ShardImageTextDataset``: lists the _stats.json files and plans the epoch of rank 0 of 8;
``ImageTextDataset``:
parses every row); the time to build and the process's peak resident memory (VmHWM, imports included)
are reported, with the resident memory after the imports alone as the floor.

Throughput: samples per second of one process with no DataLoader workers (one core), decoding every
image (LoadImageFromFile) to a tensor, over a shard set of --throughput-samples samples per
--image-sizes side, against the same images (extracted to files) read through an LMDB copy by
``ImageTextDataset``. Tiny images show the per-sample overhead of each path; larger ones, where decoding
dominates, are closer to training data.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import List

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zerovl.utils.benchmarking import describe_machine, publish_report  # noqa: E402

REPO = str(Path(__file__).resolve().parents[2])
BATCH = 256
# The shard dataset plans its epoch for this many ranks (one worker each), as rank 0 of a job would.
RANKS = 8

# Run in a fresh process: builds one dataset and prints its build time and the process's memory.
_STARTUP = r'''
import json, sys, time
sys.path.insert(0, {repo!r})
from zerovl.utils.benchmarking import _status_kib
from mmengine.registry import DefaultScope
import zerovl.datasets as zd
floor = _status_kib('VmRSS')
start = time.perf_counter()
with DefaultScope.overwrite_default_scope('zerovl'):
    if {kind!r} == 'shards':
        dataset = zd.ShardImageTextDataset({root!r}, dict(name='s', path={path!r}), batch_size={batch},
                                           rank=0, world_size={ranks}, num_workers=1)
        size = sum(dataset.plan.source_sizes)
    else:
        dataset = zd.ImageTextDataset(data_root={root!r}, name='bench', source={kind!r}, on_error='skip',
                                      max_skip_ratio=None)
        dataset.full_init()
        size = len(dataset)
elapsed = time.perf_counter() - start
print(json.dumps(dict(seconds=elapsed, size=size, floor_kib=floor, peak_kib=_status_kib('VmHWM'))))
'''


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data-dir', required=True, help='where the data sets are written (and reused)')
    parser.add_argument('--sizes', type=int, nargs='+', default=[100000, 1000000], help='samples per data set')
    parser.add_argument('--paths', nargs='+', default=['shards', 'files', 'lmdb'],
                        help="start-up rows: 'shards', 'files' (CSV) and/or 'lmdb'")
    parser.add_argument('--samples-per-shard', type=int, default=10000, help="img2dataset's default: 10000")
    parser.add_argument('--throughput-samples', type=int, default=20000, help='0 skips the throughput rows')
    parser.add_argument('--image-sizes', type=int, nargs='+', default=[8, 256],
                        help='throughput rows: side of the synthetic JPEGs (each size gets its own set)')
    parser.add_argument('--markdown-out', help='also write the tables and the machine description here')
    return parser.parse_args(argv)


# ------------------------------------------------------------------------------------------ the data

def shard_set(data_dir: str, size: int, per_shard: int, image_size: int = 8) -> str:
    from zerovl.datasets.converters.shards_convert import write_synthetic_shards
    folder = osp.join(data_dir, f's{size}' if image_size == 8 else f's{size}_{image_size}px')
    write_synthetic_shards(folder, size, per_shard, image_size=image_size)  # skips finished shards
    return folder


def csv_set(data_dir: str, size: int, with_lmdb: bool) -> str:
    root = osp.join(data_dir, f'csv{size}')
    ann_file = osp.join(root, 'bench', 'train_anno.csv')
    os.makedirs(osp.join(root, 'bench', 'train'), exist_ok=True)
    if not osp.exists(ann_file):
        with open(ann_file + '.partial', 'w') as f:
            f.write('image,image_id,caption,caption_id\n')
            f.writelines(f'{i:09d}.jpg,{i},synthetic sample {i},{i}\n' for i in range(size))
        os.replace(ann_file + '.partial', ann_file)
    if with_lmdb and not osp.isdir(osp.join(root, 'bench', 'train.lmdb')):
        from zerovl.datasets import convert_csv_to_lmdb
        convert_csv_to_lmdb(ann_file, osp.join(root, 'bench', 'train'), osp.join(root, 'bench', 'train.lmdb'),
                            progress=False)
    return root


def images_from_shards(shard_folder: str, count: int) -> str:
    """The first ``count`` samples of the shard set as a ZeroVL CSV + image files, and their LMDB copy."""
    root = shard_folder + f'_images{count}'
    lmdb_path = osp.join(root, 'bench', 'train.lmdb')
    if osp.isdir(lmdb_path):
        return root
    img_dir = osp.join(root, 'bench', 'train')
    os.makedirs(img_dir, exist_ok=True)
    rows = ['image,image_id,caption,caption_id']
    for name in sorted(os.listdir(shard_folder)):
        if not name.endswith('.tar') or len(rows) > count:
            continue
        with tarfile.open(osp.join(shard_folder, name)) as tar:
            for member in tar:
                if member.name.endswith('.jpg') and len(rows) <= count:
                    key = member.name[:-4]
                    with open(osp.join(img_dir, member.name), 'wb') as f:
                        f.write(tar.extractfile(member).read())
                    rows.append(f'{member.name},{key},synthetic sample {key},{key}')
    with open(osp.join(root, 'bench', 'train_anno.csv'), 'w') as f:
        f.write('\n'.join(rows) + '\n')
    from zerovl.datasets import convert_csv_to_lmdb
    convert_csv_to_lmdb(osp.join(root, 'bench', 'train_anno.csv'), img_dir, lmdb_path, progress=False)
    return root


# ------------------------------------------------------------------------------------------ measuring

def start_up(kind: str, root: str, path: str = '') -> dict:
    code = _STARTUP.format(repo=REPO, kind=kind, root=root, path=path, batch=BATCH, ranks=RANKS)
    process = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                             env=dict(os.environ, OMP_NUM_THREADS='1'))
    if process.returncode:
        raise RuntimeError(f'start-up of {kind} at {root} failed:\n{process.stderr[-3000:]}')
    return json.loads(process.stdout.strip().splitlines()[-1])


def load_pipeline():
    class ToTensor:
        def __call__(self, results):
            import torch
            return torch.from_numpy(results['img'].copy())
    return [dict(type='LoadImageFromFile'), ToTensor()]


def shard_throughput(shard_folder: str, count: int) -> float:
    from mmengine.registry import DefaultScope

    import zerovl.datasets as zd
    with DefaultScope.overwrite_default_scope('zerovl'):
        dataset = zd.ShardImageTextDataset(osp.dirname(shard_folder), dict(name='s', path=osp.basename(shard_folder)),
                                           batch_size=BATCH, rank=0, world_size=1, pipeline=load_pipeline())
    batches, start = iter(dataset), time.perf_counter()
    done = sum(len(next(batches)['samples']) for _ in range(max(1, count // BATCH)))
    return done / (time.perf_counter() - start)


def lmdb_throughput(root: str, count: int) -> float:
    import torch
    from mmengine.registry import DefaultScope
    from torch.utils.data import DataLoader

    import zerovl.datasets as zd
    with DefaultScope.overwrite_default_scope('zerovl'):
        dataset = zd.ImageTextDataset(data_root=root, name='bench', source='lmdb', on_error='raise',
                                      pipeline=load_pipeline())
    loader = DataLoader(dataset, batch_size=BATCH, shuffle=True, num_workers=0, collate_fn=list,
                        generator=torch.Generator().manual_seed(0))
    batches, start = iter(loader), time.perf_counter()
    done = sum(len(next(batches)) for _ in range(max(1, min(count, len(dataset)) // BATCH)))
    return done / (time.perf_counter() - start)


# ------------------------------------------------------------------------------------------ report

def startup_table(rows: List[dict]) -> str:
    lines = ['| data path | samples | start-up (s) | peak RSS of the rank (MB) | RSS after imports (MB) | '
             'above imports (MB) |', '|---|---:|---:|---:|---:|---:|']
    for row in rows:
        floor, peak = row['floor_kib'] / 1024, row['peak_kib'] / 1024
        lines.append(f"| {row['path']} | {row['size']:,} | {row['seconds']:.2f} | {peak:.0f} | {floor:.0f} | "
                     f"{peak - floor:.0f} |")
    return '\n'.join(lines)


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    import cv2
    import torch
    cv2.setNumThreads(0)
    torch.set_num_threads(1)
    command = 'python tools/benchmarks/benchmark_shards.py ' + ' '.join(sys.argv[1:] if argv is None else argv)
    rows = []
    for size in args.sizes:
        for path in args.paths:
            if path == 'shards':
                folder = shard_set(args.data_dir, size, args.samples_per_shard)
                result = start_up('shards', osp.dirname(folder), osp.basename(folder))
            else:
                result = start_up(path, csv_set(args.data_dir, size, with_lmdb=path == 'lmdb'))
            rows.append(dict(result, path={'files': 'CSV (ImageTextDataset)', 'lmdb': 'LMDB (ImageTextDataset)',
                                           'shards': 'shards (ShardImageTextDataset)'}[path]))
            print(rows[-1], flush=True)
    tables = [startup_table(rows)]
    if args.throughput_samples:
        lines = ['| image side (px) | shards: samples/s per core | LMDB: samples/s per core | shards vs LMDB |',
                 '|---:|---:|---:|---:|']
        for image_size in args.image_sizes:
            count = args.throughput_samples
            folder = shard_set(args.data_dir, count, args.samples_per_shard, image_size)
            images = images_from_shards(folder, count)
            shard_rate, lmdb_rate = shard_throughput(folder, count), lmdb_throughput(images, count)
            lines.append(f'| {image_size} | {shard_rate:.0f} | {lmdb_rate:.0f} | {shard_rate / lmdb_rate:.2f}x |')
            print(lines[-1], flush=True)
        tables.append('\n'.join(lines))
    publish_report([f'Machine: {describe_machine()}', f'Command: `{command}`'], '\n\n'.join(tables),
                   args.markdown_out)
    return rows


if __name__ == '__main__':
    main()
