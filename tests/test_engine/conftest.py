import shutil
import tempfile

import pytest


@pytest.fixture(scope='module')
def short_tmp():
    """A temporary directory with a short path, for data roots and work dirs of training runs.

    MMEngine formats the whole config with yapf when a run starts and at every checkpoint save; paths
    long enough to push config lines past 79 columns (pytest's tmp_path ones) make each call take
    seconds instead of a tenth of one.
    """
    path = tempfile.mkdtemp(prefix='zv')
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope='module')
def small_root(short_tmp):
    """A smaller synthetic set than the shared one (24 + 8 training pairs: 4 batches of 8 per epoch),
    under a short path, for tests that train several times."""
    from zerovl.datasets.synthetic import make_synthetic_dataset
    root = f'{short_tmp}/data'
    make_synthetic_dataset(root, train_a=24, train_b=8, valid_images=2, captions_per_image=5)
    return root
