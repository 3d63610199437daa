"""tools/benchmarks/benchmark_shards.py end to end, at a toy size."""
import pytest

from zerovl.testing import load_script


@pytest.fixture
def restore_threads():
    import cv2
    import torch
    torch_threads, cv2_threads = torch.get_num_threads(), cv2.getNumThreads()
    yield
    torch.set_num_threads(torch_threads)
    cv2.setNumThreads(cv2_threads)


def test_benchmark_reports_start_up_of_every_path_and_throughput(tmp_path, capsys, restore_threads):
    benchmark = load_script('tools/benchmarks/benchmark_shards.py')
    markdown = tmp_path / 'table.md'
    rows = benchmark.main(['--data-dir', str(tmp_path / 'data'), '--sizes', '4000', '--samples-per-shard', '100',
                           '--throughput-samples', '256', '--image-sizes', '8', '--paths', 'shards', 'files', '--markdown-out', str(markdown)])
    # (the LMDB row builds as the CSV one does, on an LMDB copy: left out here to keep the test short)
    assert [row['path'] for row in rows] == ['shards (ShardImageTextDataset)', 'CSV (ImageTextDataset)']
    assert all(row['size'] == 4000 and row['peak_kib'] >= row['floor_kib'] > 0 for row in rows)
    report = markdown.read_text()
    assert '| shards (ShardImageTextDataset) | 4,000 |' in report and '\n| 8 | ' in report
    assert 'Machine: ' in report and '--sizes 4000' in report
