"""What benchmarks under tools/benchmarks/ share: a description of the machine and peak memory."""
import os
import platform
import resource
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Sequence

import numpy as np
import torch


def cpu_model() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            return next(line.split(':', 1)[1].strip() for line in f if line.startswith('model name'))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def describe_machine(extra_versions: Optional[Dict[str, str]] = None) -> str:
    """One line for a benchmark table: cores, CPU (or GPU), Python, torch, numpy and ``extra_versions``."""
    parts = [f'{os.cpu_count()} CPU cores ({cpu_model()})']
    if torch.cuda.is_available():
        parts.append(f'GPU {torch.cuda.get_device_name()}')
    versions = dict(Python=platform.python_version(), torch=torch.__version__, numpy=np.__version__)
    versions.update(extra_versions or {})
    return '; '.join(parts) + '; ' + ', '.join(f'{name} {version}' for name, version in versions.items())


def publish_report(header_lines: Sequence[str], table: str, markdown_out: Optional[str] = None) -> str:
    """Header lines, a blank line and the table: printed, and written to ``markdown_out`` when given."""
    report = '\n'.join([*header_lines, '', table])
    print(report)
    if markdown_out:
        with open(markdown_out, 'w', encoding='utf-8') as f:
            f.write(report + '\n')
    return report


def _status_kib(field: str) -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Lower the kernel's resident-set high-water mark (VmHWM, what ``ru_maxrss`` reports) to the current
    resident set, by writing 5 to ``/proc/self/clear_refs`` (Linux >= 4.0); False where that fails."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


class PeakMemory:
    bytes: int = 0
    absolute_bytes: Optional[int] = None   # set where the tracker sees an absolute peak (CUDA)


@contextmanager
def peak_rss_tracker() -> Iterator[PeakMemory]:
    """Peak resident memory of this process inside the block, above the resident memory at its start.

    On Linux the kernel's high-water mark is reset on entry, so memory used before the block (building
    inputs) does not count. Elsewhere it falls back to ``ru_maxrss``, which only ever grows: then the
    result is an upper bound over the process's life so far, minus the memory at entry.
    """
    peak = PeakMemory()
    exact = reset_peak_rss() and _status_kib('VmHWM') is not None
    start_kib = _status_kib('VmRSS') if exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        yield peak
    finally:
        end_kib = _status_kib('VmHWM') if exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak.bytes = max(0, end_kib - (start_kib or 0)) * 1024


@contextmanager
def peak_cuda_tracker() -> Iterator[PeakMemory]:
    """Peak CUDA memory allocated by tensors inside the block, above what was allocated at its start
    (``bytes``), and the absolute ``torch.cuda.max_memory_allocated`` (``absolute_bytes``). The allocator's
    peak counter is reset on entry; both ends synchronise so that queued kernels are counted."""
    peak = PeakMemory()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    start = torch.cuda.memory_allocated()
    try:
        yield peak
    finally:
        torch.cuda.synchronize()
        peak.absolute_bytes = torch.cuda.max_memory_allocated()
        peak.bytes = max(0, peak.absolute_bytes - start)
