"""tools/benchmarks/benchmark_dataloader.py end to end, at a toy size."""

import pytest
from zerovl.testing import load_script as load_script_at

SCRIPT = 'tools/benchmarks/benchmark_dataloader.py'


def load_script():
    return load_script_at(SCRIPT)


@pytest.fixture
def restore_threads():
    """The script makes its process single-threaded, as mmengine's runner does; undo that for the
    tests that run after this one in the same process."""
    import cv2
    import torch
    torch_threads, cv2_threads = torch.get_num_threads(), cv2.getNumThreads()
    yield
    torch.set_num_threads(torch_threads)
    cv2.setNumThreads(cv2_threads)


@pytest.mark.timeout(120)
def test_benchmark_prints_a_table_of_every_path(tmp_path, capsys, restore_threads):
    benchmark = load_script()
    markdown = tmp_path / 'table.md'
    rows = benchmark.main(['--num-images', '12', '--min-side', '48', '--max-side', '64', '--workers', '0',
                           '--batch-size', '4', '--repeats', '1', '--markdown-out', str(markdown)])
    assert [(row['path'], row['workers'], row['augment']) for row in rows] == [
        (path, 0, augment) for augment in (False, True) for path in benchmark.PATHS]
    assert all(row['rate'] > 0 for row in rows)
    assert [row['ratio'] for row in rows if row['path'] == 'files+PIL'] == [1.0, 1.0]
    out = capsys.readouterr().out
    table = markdown.read_text()
    assert '| decode path | workers | augmentation | images/s | vs files+PIL |' in out
    assert table.count('\n| lmdb+cv2 | 0 |') == 2 and 'CPU cores' in table and '--num-images 12' in table


def test_all_paths_decode_the_same_images(tmp_path):
    """The three paths read the same pixels (same files, RGB order), so their speeds are comparable."""
    import numpy as np
    benchmark = load_script()
    benchmark.generate(str(tmp_path), 3, 40, 50, seed=1)
    loaded = {path: benchmark.build_dataset(str(tmp_path), path, augment=False)[1].numpy().astype(int)
              for path in benchmark.PATHS}
    assert loaded['lmdb+cv2'].shape == (224, 224, 3)
    np.testing.assert_array_equal(loaded['lmdb+cv2'], loaded['files+cv2'])
    # PIL's antialiased resize differs slightly from OpenCV's, but not in content or channel order.
    assert np.abs(loaded['files+PIL'] - loaded['files+cv2']).mean() < 8
