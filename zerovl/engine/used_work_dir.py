"""A fresh (non-resumed) run into a work dir that already holds another run's checkpoints.

MMEngine writes ``epoch_N.pth`` / ``iter_N.pth`` and ``last_checkpoint`` under fixed names, so a second run
into the same work dir silently overwrites the first run's checkpoints one by one, and until it has, the
directory mixes files of both runs. ``tools/train.py`` therefore refuses such a run unless the user either
continues the old run (``--resume``) or asks for a fresh one with ``--overwrite``, which moves the old
checkpoints aside into ``WORK_DIR/overwritten/TIMESTAMP/`` (nothing is deleted).
"""
import os
import os.path as osp
import re
import time
from typing import List

from zerovl.engine.resume_checkpoint import POINTER

ASIDE = 'overwritten'
# Everything CheckpointHook writes into the work dir under a fixed name (default filename_tmpl, save_best).
CHECKPOINT_FILE = re.compile(r'^((epoch|iter)_\d+|best_.+)\.pth$')


class UsedWorkDirError(RuntimeError):
    """A fresh run would overwrite the checkpoints of an earlier run."""


def saved_checkpoints(work_dir: str) -> List[str]:
    """Names of the checkpoint files (and the ``last_checkpoint`` pointer) directly in ``work_dir``."""
    if not osp.isdir(work_dir):
        return []
    return sorted(name for name in os.listdir(work_dir)
                  if (CHECKPOINT_FILE.match(name) or name == POINTER) and osp.isfile(osp.join(work_dir, name)))


def refuse_used_work_dir(work_dir: str) -> None:
    """Raise :class:`UsedWorkDirError` naming the checkpoints and the ways out when ``work_dir`` holds any."""
    found = saved_checkpoints(work_dir)
    if found:
        shown = ', '.join(found[:6]) + (f' and {len(found) - 6} more' if len(found) > 6 else '')
        raise UsedWorkDirError(
            f'{work_dir} already holds checkpoints of an earlier run ({shown}); a new run would overwrite '
            'them. Continue that run with --resume, start a fresh one with --overwrite (moves them into '
            f'{osp.join(work_dir, ASIDE)}/TIMESTAMP/), or choose another --work-dir.')


def move_checkpoints_aside(work_dir: str) -> str:
    """Move the checkpoints of ``work_dir`` into a new ``WORK_DIR/overwritten/TIMESTAMP/`` and return it
    (an empty string when there was nothing to move)."""
    found = saved_checkpoints(work_dir)
    if not found:
        return ''
    destination = osp.join(work_dir, ASIDE, time.strftime('%Y%m%d_%H%M%S'))
    suffix = 1
    while osp.exists(destination):  # two overwrites within one second
        destination = f'{destination.rsplit("~", 1)[0]}~{suffix}'
        suffix += 1
    os.makedirs(destination)
    for name in found:
        os.replace(osp.join(work_dir, name), osp.join(destination, name))
    return destination
