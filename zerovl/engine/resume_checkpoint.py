"""Which checkpoint ``--resume`` continues from.

MMEngine's auto-resume reads ``WORK_DIR/last_checkpoint`` and hands whatever path it holds to
``Runner.resume``: a truncated newest checkpoint then fails deep inside ``torch.load`` ("failed finding
central directory", a bare ``EOFError`` for an empty file) although the previous one is intact; a pointer
holding an absolute path makes a copied work dir resume from the original directory; and an empty work
dir logs "Auto resumed from the latest checkpoint None" and quietly trains from scratch.

Here the candidates are listed newest first — the file ``last_checkpoint`` names (relative to the work dir;
old absolute pointers are mapped into this work dir), then every ``epoch_N.pth`` / ``iter_N.pth`` by
descending N — and the first one whose zip archive is complete wins. Every skipped file is reported with
the reason, so a fallback is never silent.
"""
import logging
import os
import os.path as osp
import re
import zipfile
from dataclasses import dataclass, field
from typing import List, Optional

POINTER = 'last_checkpoint'
# The names CheckpointHook gives resumable checkpoints (its default filename_tmpl); best_*.pth are not.
RESUMABLE = re.compile(r'^(epoch|iter)_(\d+)\.pth$')


@dataclass
class ResumeChoice:
    """The checkpoint to resume from (None: nothing to resume) and what was skipped on the way."""
    path: Optional[str]
    skipped: List[str] = field(default_factory=list)  # one 'PATH: reason' line per unusable candidate


class NoLoadableCheckpointError(RuntimeError):
    """The work dir holds checkpoints, but none of them can be loaded."""


def pointer_text(checkpoint: str, work_dir: str) -> str:
    """What ``last_checkpoint`` stores for ``checkpoint``: its path relative to the work dir when it lies
    inside it, so the work dir can be copied or moved; an absolute path otherwise (a separate out_dir)."""
    checkpoint, work_dir = osp.abspath(checkpoint), osp.abspath(work_dir)
    if osp.commonpath([checkpoint, work_dir]) == work_dir:
        return osp.relpath(checkpoint, work_dir)
    return checkpoint


def read_pointer(work_dir: str) -> Optional[str]:
    """The checkpoint ``WORK_DIR/last_checkpoint`` names, as a path usable from here, or None.

    A relative pointer is relative to the work dir. An absolute one (written before pointers were
    relative) that points outside this work dir while a file of the same name lies inside it comes from a
    copied or moved work dir: the copy inside is meant, not the original.
    """
    pointer = osp.join(work_dir, POINTER)
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        named = f.read().strip()
    if not named:
        return None
    if not osp.isabs(named):
        return osp.join(work_dir, named)
    local_copy = osp.join(work_dir, osp.basename(named))
    if osp.commonpath([named, osp.abspath(work_dir)]) != osp.abspath(work_dir) and osp.isfile(local_copy):
        return local_copy
    return named


def checkpoint_files(work_dir: str) -> List[str]:
    """The resumable checkpoints saved in ``work_dir`` (epoch_N.pth, iter_N.pth), highest N first."""
    if not osp.isdir(work_dir):
        return []
    found = [(int(match.group(2)), name) for name in os.listdir(work_dir)
             if (match := RESUMABLE.match(name)) and osp.isfile(osp.join(work_dir, name))]
    return [osp.join(work_dir, name) for _, name in sorted(found, reverse=True)]


def candidates(work_dir: str) -> List[str]:
    """Checkpoints to try, newest first: the pointer's, then the others in ``work_dir`` by step."""
    ordered = []
    for path in [read_pointer(work_dir)] + checkpoint_files(work_dir):
        if path is not None and osp.abspath(path) not in map(osp.abspath, ordered):
            ordered.append(path)
    return ordered


def unreadable_reason(path: str) -> Optional[str]:
    """Why ``path`` cannot be a complete checkpoint, or None when it can.

    ``torch.save`` writes a zip archive whose central directory comes last, so a truncated file has none,
    and every member carries a CRC-32. Reading the archive through (no unpickling, so no trust question
    and no tensors built) finds truncated, empty and corrupted files for the cost of reading them once.
    """
    if not osp.isfile(path):
        return 'no such file'
    if osp.getsize(path) == 0:
        return 'empty file (0 bytes)'
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        return f'not a complete checkpoint archive (truncated?): {err}'
    if damaged is not None:
        return f'corrupted: member {damaged} fails its CRC check'
    return None


def choose_resume_checkpoint(work_dir: str) -> ResumeChoice:
    """The newest checkpoint of ``work_dir`` that is complete, with the newer ones skipped and why.

    Returns ``ResumeChoice(None)`` when the work dir holds no checkpoint at all, and raises
    :class:`NoLoadableCheckpointError` naming every file when it holds some but none is complete.
    """
    skipped = []
    for path in candidates(work_dir):
        reason = unreadable_reason(path)
        if reason is None:
            return ResumeChoice(path, skipped)
        skipped.append(f'{path}: {reason}')
    if skipped:
        raise NoLoadableCheckpointError(
            f'Cannot resume from {work_dir}: none of its checkpoints can be loaded:\n  ' + '\n  '.join(skipped))
    return ResumeChoice(None)


def latest_loadable_checkpoint(work_dir: str) -> Optional[str]:
    """Drop-in for MMEngine's ``find_latest_checkpoint``: the choice above, skipped files logged."""
    from mmengine.logging import print_log
    choice = choose_resume_checkpoint(work_dir)
    for line in choice.skipped:
        print_log(f'Not resuming from {line}', logger='current', level=logging.WARNING)
    return choice.path


def install_resume_resolver() -> None:
    """Make ``Runner(resume=True, load_from=None)`` resume through :func:`latest_loadable_checkpoint`:
    MMEngine's own would hand a relative ``last_checkpoint`` to ``torch.load`` relative to the current
    directory, and a truncated newest checkpoint to ``Runner.resume``."""
    import mmengine.runner.runner as runner_module
    runner_module.find_latest_checkpoint = latest_loadable_checkpoint
