"""Read the bytes of an image file named by an annotation row, refusing what is no image file.

The image column of a crawled CSV is data, not a trusted path. Without checks, one row naming a FIFO
blocks a DataLoader worker (or the LMDB converter) forever, ``/dev/zero`` reads until memory runs
out, and ``../../../etc/hostname`` reads (and packs into an LMDB) a file outside the image folder.
``read_image_file`` therefore reads only

* regular files (opened with O_NONBLOCK, so opening a FIFO returns at once, then checked with fstat),
* at most ``max_bytes`` bytes (a file larger than that is refused, not truncated),
* whose resolved path (symbolic links followed) lies inside one of ``roots``: the image folder and
  any folders the user allow-listed (image folders made of links into shared storage).

Each refusal raises ``ImageFileRefused`` with the reason in words; the caller turns it into a bad
sample (loader) or a listed image (converter).
"""
import os
import os.path as osp
import stat
from typing import Optional, Sequence

# 64 MiB: more than any camera JPEG or photo PNG of max_pixels (8192^2) needs, little enough that eight
# workers reading at once stay far from the memory limit.
DEFAULT_MAX_BYTES = 64 << 20
_READ_CHUNK = 1 << 20


class ImageFileRefused(OSError):
    """The path is not read: missing, outside the image folder, not a regular file, or too large."""


def resolve_roots(roots: Sequence[str]) -> tuple:
    """The roots as resolved absolute paths, the form ``read_image_file`` compares against."""
    return tuple(osp.realpath(root) for root in roots)


def read_image_file(path: str, roots: Optional[Sequence[str]] = None,
                    max_bytes: Optional[int] = DEFAULT_MAX_BYTES) -> bytes:
    """The file's bytes; raises ``ImageFileRefused`` (never blocks, never reads past ``max_bytes``).

    Args:
        path: the image file.
        roots: resolved folders (see ``resolve_roots``) the resolved path must lie in; None for no
            confinement (a path from a folder listing rather than from a CSV).
        max_bytes: larger files are refused; None for no limit.
    """
    if roots is not None:
        _check_inside(path, roots)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0))
    except FileNotFoundError:
        raise ImageFileRefused('image file not found') from None
    except (OSError, ValueError) as error:  # ValueError: a path open() refuses (embedded NUL)
        raise ImageFileRefused(f'image file cannot be read ({getattr(error, "strerror", None) or error})') from None
    try:
        _check_regular(fd, max_bytes)
        return _read_at_most(fd, max_bytes)
    finally:
        os.close(fd)


def _check_inside(path: str, roots: Sequence[str]) -> None:
    resolved = osp.realpath(path)
    if not any(resolved == root or resolved.startswith(root.rstrip(os.sep) + os.sep) for root in roots):
        raise ImageFileRefused(f'image path resolves to {resolved}, outside the image folder and allowed '
                               f'roots ({", ".join(roots)})')


def _check_regular(fd: int, max_bytes: Optional[int]) -> None:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise ImageFileRefused(f'not a regular file ({_kind(info.st_mode)})')
    if max_bytes is not None and info.st_size > max_bytes:
        raise ImageFileRefused(f'image file of {info.st_size} bytes exceeds max_bytes={max_bytes}')


def _read_at_most(fd: int, max_bytes: Optional[int]) -> bytes:
    # The size was checked above, but a file can grow while it is read (a crawler still writing it):
    # read one byte more than allowed to notice, never more.
    limit = None if max_bytes is None else max_bytes + 1
    chunks, total = [], 0
    while limit is None or total < limit:
        chunk = os.read(fd, _READ_CHUNK if limit is None else min(_READ_CHUNK, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if max_bytes is not None and total > max_bytes:
        raise ImageFileRefused(f'image file grew past max_bytes={max_bytes} while being read')
    return b''.join(chunks)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, 'a directory'), (stat.S_ISFIFO, 'a FIFO'), (stat.S_ISCHR, 'a character device'),
                       (stat.S_ISBLK, 'a block device'), (stat.S_ISSOCK, 'a socket')):
        if test(mode):
            return name
    return f'file type {stat.S_IFMT(mode):o}'
