"""Files that appear complete or not at all: written under a temporary name, then renamed.

``os.replace`` within one directory is atomic on POSIX and Windows, so a reader (or a resumed run)
sees either the old file or the new one, never a prefix of it. The data is flushed to disk before the
rename, and the directory after it, so that after a power loss the new name cannot point to data the
disk never received.
"""
import glob
import os
import os.path as osp

PARTIAL_SUFFIX = '.partial'


def partial_path(path: str) -> str:
    """The temporary name ``path`` is written under: hidden, same directory (``os.replace`` is only
    atomic within one file system), and not matching ``*.pth`` or any other final name."""
    directory, name = osp.split(path)
    return osp.join(directory, f'.{name}{PARTIAL_SUFFIX}')


def _fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(directory: str) -> None:
    try:
        _fsync_path(directory or '.')
    except OSError:
        # Some platforms and file systems cannot sync a directory; the rename is still atomic, only
        # its survival of a power loss is less certain.
        pass


def publish(partial: str, path: str) -> None:
    """Make the complete file ``partial`` visible as ``path`` in one step."""
    _fsync_path(partial)
    os.replace(partial, path)
    _fsync_directory(osp.dirname(path))


def write_text_atomically(path: str, text: str) -> None:
    partial = partial_path(path)
    with open(partial, 'w') as f:
        f.write(text)
    publish(partial, path)


def remove_partials(directory: str) -> list:
    """Delete files left under temporary names by a process that died while writing; returns them."""
    leftovers = glob.glob(osp.join(directory, f'.*{PARTIAL_SUFFIX}'))
    for leftover in leftovers:
        os.remove(leftover)
    return leftovers
