"""Safe checkpoint loading for MMEngine on torch >= 2.6.

MMEngine 0.10.7 calls ``torch.load`` without ``weights_only``; torch now defaults to ``weights_only=True``
and refuses the pickled ``HistoryBuffer`` objects of the message hub, so ``resume`` breaks. Turning
``weights_only`` off would let any checkpoint run arbitrary code. Instead our checkpoints hold only
plain containers (``MessageHubStateHook`` flattens the message hub before saving), and local files are
loaded with ``weights_only=True`` plus an explicit allow-list. A file that needs anything else is
refused with an error saying how to opt in for a file you trust.
"""
import os
import os.path as osp
import pickle
from contextlib import contextmanager

import torch
from mmengine.runner import CheckpointLoader

TRUST_ENV = 'ZEROVL_TRUST_CHECKPOINTS'

# Classes beyond torch's defaults (tensors, dict, OrderedDict, list, tuple, set, str, int, float, bool,
# None, torch.Size, dtypes) that a zerovl checkpoint may legitimately hold. Nothing here can execute
# code when unpickled.
SAFE_GLOBALS = []


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint needs classes outside the allow-list to be unpickled."""


def trusted() -> bool:
    return os.environ.get(TRUST_ENV, '0').lower() in ('1', 'true', 'yes')


@contextmanager
def trust_checkpoints():
    """Within this block checkpoints load with full pickle: only for files you produced or trust."""
    previous = os.environ.get(TRUST_ENV)
    os.environ[TRUST_ENV] = '1'
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(TRUST_ENV)
        else:
            os.environ[TRUST_ENV] = previous


def safe_load(filename: str, map_location='cpu'):
    """``torch.load`` restricted to tensors, plain containers and :data:`SAFE_GLOBALS`, onto the host unless
    ``map_location`` says otherwise."""
    if trusted():
        return torch.load(filename, map_location=map_location, weights_only=False)
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafeCheckpointError(
            f'Refusing to load {filename}: it contains pickled objects outside zerovl\'s allow-list, and '
            f'unpickling them could run arbitrary code.\ntorch said: {err}\nIf you trust this file, set '
            f'{TRUST_ENV}=1 (or pass --trust-checkpoint to tools/train.py and tools/test.py), or convert it '
            'once into a plain state dict.') from err


def load_from_local(filename: str, map_location='cpu'):
    """MMEngine's loader for local paths. Without a ``map_location`` the tensors go to the host: left to
    torch, they would return to the device they were saved from (a GPU this machine may not have, or
    another rank's)."""
    filename = osp.expanduser(filename)
    if map_location is None:
        map_location = 'cpu'

    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    return safe_load(filename, map_location=map_location)


def register_safe_loader() -> None:
    """Make every local-path checkpoint load in MMEngine (``load_from``, ``resume``, ``load_checkpoint``)
    go through :func:`safe_load`. The empty prefix is MMEngine's scheme for local paths."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)


def add_trust_checkpoint_argument(parser) -> None:
    """The tools' ``--trust-checkpoint`` flag: one wording, one effect (:func:`trust_if_asked`)."""
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help=f'load checkpoints with full pickle, which can run code: only for files you trust '
                             f'(sets {TRUST_ENV}=1 for this process and the ones it starts)')


def trust_if_asked(args) -> None:
    """Apply ``--trust-checkpoint``: through the environment, so worker and rank processes inherit it."""
    if getattr(args, 'trust_checkpoint', False):
        os.environ[TRUST_ENV] = '1'
