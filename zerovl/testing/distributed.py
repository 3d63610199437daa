"""Run a function in N gloo processes on CPU: the harness of every distributed test."""
import os
import socket
import tempfile
from typing import Any, Callable

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def find_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _worker(rank: int, world_size: int, port: int, fn: Callable, args: tuple, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world_size)
    try:
        result = fn(rank, world_size, *args)
        torch.save(result, os.path.join(out_dir, f'rank{rank}.pt'))
    finally:
        dist.destroy_process_group()


def run_distributed(fn: Callable, world_size: int, *args: Any) -> list:
    """Call ``fn(rank, world_size, *args)`` in ``world_size`` spawned processes joined by a gloo group
    and return their results (anything ``torch.save`` can store), indexed by rank. ``fn`` must be
    importable (defined at module level) because the processes are spawned."""
    with tempfile.TemporaryDirectory() as out_dir:
        mp.spawn(_worker, args=(world_size, find_free_port(), fn, args, out_dir), nprocs=world_size)
        return [torch.load(os.path.join(out_dir, f'rank{r}.pt'), map_location='cpu',
                           weights_only=False) for r in range(world_size)]
