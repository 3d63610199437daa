"""pytest fixtures shared by ``tests/`` and ``projects/``: each conftest imports the ones it offers.

They live in the package, not in one conftest, because a conftest's fixtures reach only the tests below
its own folder, and ``projects/`` is not below ``tests/``.
"""
import os
import shutil
import tempfile

import pytest


def enter_repository(repo_root: str) -> None:
    """Run tests from ``repo_root`` and offline: configs name files relative to the repository root, as
    the tools do, and no test may reach the Hugging Face hub."""
    os.chdir(repo_root)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')


@pytest.fixture(scope='session')
def synthetic_root():
    """A small copy of the bundled two-domain synthetic set: 64 training pairs, 2 x 8 held-out images.

    It lives at a short path on purpose: MMEngine formats the whole config with yapf at start-up and at
    every checkpoint, and yapf slows down by an order of magnitude on pytest's long temporary paths.
    """
    from zerovl.datasets.synthetic import make_synthetic_dataset
    root = tempfile.mkdtemp(prefix='zv')
    make_synthetic_dataset(root, train_a=48, train_b=16, valid_images=8, captions_per_image=5)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def one_thread():
    """The tiny models gain little from a second thread, and on a busy machine two threads per run thrash."""
    import torch
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def short_work_dir():
    """A fresh work dir with a short path: MMEngine formats the whole config with yapf at start-up and
    at every checkpoint, which slows down by an order of magnitude on pytest's long temporary paths."""
    path = tempfile.mkdtemp(prefix='zv')
    yield path
    shutil.rmtree(path, ignore_errors=True)
