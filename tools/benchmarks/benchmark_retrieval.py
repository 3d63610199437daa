"""Exact retrieval recall at scale: zerovl's one-pass metric vs one bare matmul vs a full argsort.

    python tools/benchmarks/benchmark_retrieval.py --sizes 5000x25000 100000x500000
    python tools/benchmarks/benchmark_retrieval.py --sizes 200000x1000000 --methods zerovl
    python tools/benchmarks/benchmark_retrieval.py --sizes 200000x1000000 --methods matmul zerovl --device cuda

A size is IMAGESxCAPTIONS (COCO's 5k test split has 25k captions). Every row runs in a fresh
process on the same seeded embeddings, so its peak memory is its own:

* ``matmul``: the similarity scores computed in caption chunks into one reused buffer, and nothing
  else: the floor any exact metric pays, since every image-caption score is needed once.
* ``zerovl``: ``zerovl.evaluation.retrieval_metrics`` (one pass, chunked; see its docstring).
* ``argsort``: the original implementation's approach, written here: the whole N_img x N_txt matrix
  in memory, every row and every column argsorted, the rank read off the permutation (one matrix
  product, batched multithreaded sorts: a strong version of it). It runs only when its matrix and
  permutations fit in ``--argsort-max-gib``, and is otherwise reported with the memory it would need.

Captions are noisy copies of their image's embedding (unit vectors, D=512 by default), with noise
set so recalls are mid-range, as for a real model: the cost of the metric's top-k bookkeeping
depends on how often a caption beats an image's best foreign captions, so random vectors would flatter
it. Peak memory is the process's peak resident set during the method, above its resident set before
(Linux ``VmHWM`` after resetting it through ``/proc/self/clear_refs``), so the embeddings themselves
are not counted.

``--device cuda`` generates the same embeddings on the CPU, moves them to the GPU before the clock starts
(on a GPU node the model leaves them there) and runs every method there; peak memory is then
``torch.cuda.max_memory_allocated`` above what the embeddings hold, and the absolute peak is reported
too. Every method's products run in full IEEE float32 (no TF32), as the metric's do.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import torch

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zerovl.evaluation import retrieval_metrics  # noqa: E402
from zerovl.evaluation.retrieval import RECALL_KS  # noqa: E402
from zerovl.utils.benchmarking import (describe_machine, peak_cuda_tracker, peak_rss_tracker,  # noqa: E402
                                       publish_report)
from zerovl.utils.matmul_precision import ieee_fp32_matmul  # noqa: E402

METHODS = ('matmul', 'zerovl', 'argsort')
GIB = 1024 ** 3


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sizes', nargs='+', default=['5000x25000'], help='IMAGESxCAPTIONS')
    parser.add_argument('--methods', nargs='+', choices=METHODS, default=list(METHODS))
    parser.add_argument('--dim', type=int, default=512)
    parser.add_argument('--chunk-size', type=int, default=1024, help='captions scored at once')
    parser.add_argument('--noise', type=float, default=8.0, help='norm of the caption noise (the signal has norm 1)')
    parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu',
                        help='where every method runs (the embeddings are moved there before timing)')
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    parser.add_argument('--argsort-max-gib', type=float, default=8.0)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--markdown-out', help='also write the report here')
    parser.add_argument('--row', help=argparse.SUPPRESS)  # internal: METHOD,SIZE run in a child process
    return parser.parse_args(argv)


def parse_size(size: str):
    try:
        num_images, num_captions = (int(part) for part in size.lower().split('x'))
    except ValueError:
        raise SystemExit(f'--sizes: expected IMAGESxCAPTIONS such as 5000x25000, got {size!r}')
    if num_images < 1 or num_captions % num_images:
        raise SystemExit(f'--sizes {size}: the captions must be a positive multiple of the images')
    return num_images, num_captions


# ------------------------------------------------------------------------------------------ data
def make_embeddings(num_images: int, num_captions: int, dim: int, noise: float, seed: int):
    """Unit image vectors and, per image, captions that are its vector plus noise, renormalised.
    Generated in blocks so that no temporary is as large as the caption matrix."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.nn.functional.normalize(torch.randn(num_images, dim, generator=generator), dim=1)
    text_to_image = torch.arange(num_images).repeat_interleave(num_captions // num_images)
    texts = torch.empty(num_captions, dim)
    for start in range(0, num_captions, 65536):
        stop = min(start + 65536, num_captions)
        # Noise of norm ~``noise`` against a unit signal, whatever the dimension.
        block = images[text_to_image[start:stop]] + noise / dim ** 0.5 * torch.randn(stop - start, dim,
                                                                                     generator=generator)
        texts[start:stop] = torch.nn.functional.normalize(block, dim=1)
    return images, texts, text_to_image


# --------------------------------------------------------------------------------------- methods
def bare_matmul(images: torch.Tensor, texts: torch.Tensor, text_to_image: torch.Tensor, chunk_size: int):
    buffer = torch.empty(images.shape[0] * min(chunk_size, texts.shape[0]), device=images.device)
    for start in range(0, texts.shape[0], chunk_size):
        stop = min(start + chunk_size, texts.shape[0])
        torch.matmul(images, texts[start:stop].T, out=buffer[:images.shape[0] * (stop - start)]
                     .view(images.shape[0], stop - start))
    return None


def argsort_bytes(num_images: int, num_captions: int) -> int:
    # float32 scores + an int64 permutation of them (torch.argsort), the larger transient of the two passes.
    return num_images * num_captions * (4 + 8)


def full_argsort(images: torch.Tensor, texts: torch.Tensor, text_to_image: torch.Tensor, chunk_size: int):
    """Recalls the way the original evaluation gets them: sort every query's scores, find the answer."""
    scores = images @ texts.T                                                  # (N_img, N_txt)
    order = scores.argsort(dim=1, descending=True)                             # captions, best first
    own = text_to_image[order] == torch.arange(images.shape[0], device=images.device)[:, None]
    i2t_ranks = own.int().argmax(dim=1)                                        # first own caption
    del order, own
    order = scores.T.argsort(dim=1, descending=True)                          # images, best first
    t2i_ranks = (order == text_to_image[:, None]).int().argmax(dim=1)
    metrics = {f'i2t_R@{k}': 100.0 * float((i2t_ranks < k).sum()) / len(i2t_ranks) for k in RECALL_KS}
    metrics.update({f't2i_R@{k}': 100.0 * float((t2i_ranks < k).sum()) / len(t2i_ranks) for k in RECALL_KS})
    metrics['rsum'] = sum(metrics.values())
    return metrics


def zerovl_metric(images, texts, text_to_image, chunk_size: int):
    return retrieval_metrics(images, texts, text_to_image, chunk_size=chunk_size)


RUNNERS = dict(matmul=bare_matmul, zerovl=zerovl_metric, argsort=full_argsort)


# ------------------------------------------------------------------------------------ child process
def run_row(args) -> None:
    """In a fresh process: make the data, run one method, print one JSON line."""
    method, size = args.row.split(',')
    torch.set_num_threads(args.threads)
    num_images, num_captions = parse_size(size)
    embeddings = make_embeddings(num_images, num_captions, args.dim, args.noise, args.seed)
    images, texts, text_to_image = (tensor.to(args.device) for tensor in embeddings)
    del embeddings
    tracker = peak_cuda_tracker() if args.device == 'cuda' else peak_rss_tracker()
    with tracker as peak, torch.no_grad(), ieee_fp32_matmul():
        start = time.perf_counter()
        metrics = RUNNERS[method](images, texts, text_to_image, args.chunk_size)
        if args.device == 'cuda':
            torch.cuda.synchronize()   # the bare matmul returns before its kernels finish
        seconds = time.perf_counter() - start
    print(json.dumps(dict(method=method, size=size, device=args.device, seconds=seconds, peak_bytes=peak.bytes,
                          absolute_peak_bytes=peak.absolute_bytes, metrics=metrics)))


def spawn_row(args, method: str, size: str) -> dict:
    command = [sys.executable, __file__, '--row', f'{method},{size}', '--device', args.device, '--dim', str(args.dim),
               '--chunk-size', str(args.chunk_size), '--noise', str(args.noise),
               '--threads', str(args.threads), '--seed', str(args.seed)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f'{method} at {size} failed (exit {result.returncode}):\n{result.stderr[-3000:]}')
    return json.loads(result.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------------------- report
def _same_recalls(a: Optional[dict], b: Optional[dict]) -> str:
    if a is None or b is None:
        return ''
    return 'yes' if all(abs(a[key] - b[key]) < 1e-9 for key in a) else 'NO'


def markdown_table(rows: List[dict]) -> str:
    lines = ['| size (images x captions) | method | seconds | vs matmul | vs zerovl | peak memory above inputs | '
             'RSUM | same recalls as zerovl |',
             '|---|---|---:|---:|---:|---:|---:|---|']
    for row in rows:
        if row.get('skipped'):
            lines.append(f"| {row['size']} | {row['method']} | not run: {row['skipped']} | | | | | |")
            continue
        peers = {r['method']: r for r in rows if r['size'] == row['size'] and not r.get('skipped')}
        vs = [f"{row['seconds'] / peers[m]['seconds']:.2f}x" if m in peers else '-' for m in ('matmul', 'zerovl')]
        rsum = f"{row['metrics']['rsum']:.2f}" if row['metrics'] else '-'
        same = _same_recalls(row['metrics'], peers.get('zerovl', {}).get('metrics')) if row['method'] != 'zerovl' else ''
        lines.append(f"| {row['size']} | {row['method']} | {row['seconds']:.1f} | {vs[0]} | {vs[1]} | "
                     f"{row['peak_bytes'] / 2 ** 20:,.0f} MiB | {rsum} | {same} |")
    return '\n'.join(lines)


def check_device(device: str) -> None:
    """Fail before any row is spawned, rather than in a child process's traceback."""
    if device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no CUDA device is visible here (torch.cuda.is_available() is False: '
                         'no GPU, no driver, or CUDA_VISIBLE_DEVICES hides it); run with --device cpu')


def memory_line(device: str) -> str:
    if device == 'cuda':
        return ('Memory: peak CUDA allocation (torch.cuda.max_memory_allocated) above the embeddings on the GPU; '
                'absolute peaks: ')
    return 'Memory: peak resident set above the process\'s resident set before the method (the embeddings)'


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    check_device(args.device)
    if args.row:
        run_row(args)
        return []
    command = 'python tools/benchmarks/benchmark_retrieval.py ' + ' '.join(sys.argv[1:] if argv is None else argv)
    rows: List[Dict] = []
    for size in args.sizes:
        num_images, num_captions = parse_size(size)
        for method in args.methods:
            needed = argsort_bytes(num_images, num_captions) / GIB
            if method == 'argsort' and needed > args.argsort_max_gib:
                rows.append(dict(method=method, size=size, skipped=f'needs ~{needed:,.0f} GiB for the full matrix '
                                 f'and its permutation (limit --argsort-max-gib {args.argsort_max_gib:g})'))
                continue
            rows.append(spawn_row(args, method, size))
            print(f"{size} {method}: {rows[-1]['seconds']:.1f} s", flush=True)
    memory = memory_line(args.device)
    if args.device == 'cuda':
        memory += ', '.join(f"{row['method']} {row['size']} {row['absolute_peak_bytes'] / GIB:.2f} GiB"
                            for row in rows if not row.get('skipped'))
    publish_report([f'Machine: {describe_machine()}; {args.threads} torch threads', f'Command: `{command}`',
                    f'Embeddings: D={args.dim}, float32, caption noise {args.noise}; chunk {args.chunk_size} captions; '
                    f'device {args.device}, float32 products in full precision', memory],
                   markdown_table(rows), args.markdown_out)
    return rows


if __name__ == '__main__':
    main()
