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


@pytest.mark.timeout(240)
def test_benchmark_prints_a_table_of_every_path_and_pipeline(tmp_path, capsys, restore_threads):
    benchmark = load_script()
    markdown = tmp_path / 'table.md'
    results = benchmark.main(['--num-images', '12', '--min-side', '48', '--max-side', '64', '--workers', '0',
                              '--batch-size', '4', '--repeats', '1', '--markdown-out', str(markdown)])
    rows = results['decode']
    assert [(row['path'], row['workers'], row['augment']) for row in rows] == [
        (path, 0, augment) for augment in (False, True) for path in benchmark.PATHS]
    assert all(row['rate'] > 0 for row in rows)
    assert [row['ratio'] for row in rows if row['path'] == 'files+PIL'] == [1.0, 1.0]
    train = results['train']
    assert [(row['pipeline'], row['workers']) for row in train] == [(row, 0) for row in benchmark.TRAIN_ROWS]
    assert all(row['rate'] > 0 for row in train)
    assert [row['ratio'] for row in train if row['pipeline'] == 'torchvision PIL'] == [1.0]
    out = capsys.readouterr().out
    table = markdown.read_text()
    assert '| decode path | workers | augmentation | images/s | vs files+PIL |' in out
    assert '| training pipeline | workers | samples/s | vs torchvision PIL | samples per CPU-second |' in out
    assert all(row['cpu_rate'] > 0 for row in train)
    assert [row['cpu_ratio'] for row in train if row['pipeline'] == 'torchvision PIL'] == [1.0]
    assert table.count('\n| lmdb+cv2 | 0 |') == 2 and table.count('\n| zerovl fast | 0 |') == 1
    assert 'CPU cores' in table and '--num-images 12' in table
    stages = results['stages']
    assert [row['steps'] for row in stages] == [
        ['LoadImageFromFile', 'LoadImageFromFile'], ['RandomResizedCrop', 'FastRandomResizedCrop'],
        ['AutoAugmentRGB', 'FastAutoAugment'], ['CaptionAugment', 'CaptionAugment'], ['Tokenize', 'Tokenize'],
        ['PackImageTextInputs', 'PackImageTextInputs']]
    assert all(row[name] > 0 for row in stages for name in benchmark.STAGE_ROWS)
    assert '| RandomResizedCrop / FastRandomResizedCrop |' in table and '\n| total |' in table


def test_training_rows_pack_what_the_model_takes(tmp_path):
    """Every training row yields 224 x 224 uint8 images; the rows with text yield the same 25 tokens for
    a caption the augmentation left alone, and the zerovl rows and the torchvision row read the same image."""
    import numpy as np
    import torch
    benchmark = load_script()
    benchmark.generate(str(tmp_path), 2, 40, 50, seed=1)
    vocab = str(tmp_path / benchmark.NAME / 'vocab.txt')
    batches = {}
    for row in benchmark.TRAIN_ROWS:
        dataset = benchmark.build_train_dataset(str(tmp_path), row, vocab)
        np.random.seed(0)
        torch.manual_seed(0)
        batches[row] = benchmark.image_text_collate([dataset[0], dataset[1]])['inputs']
        assert batches[row]['images'].shape == (2, 3, 224, 224) and batches[row]['images'].dtype == torch.uint8
    assert set(batches['torchvision PIL']) == {'images'}
    for row in ('zerovl fast', 'zerovl reference', 'torchvision PIL + text'):
        assert batches[row]['input_ids'].shape == (2, 25)
        assert (batches[row]['input_ids'][:, 0] == 2).all()  # [CLS] of the generated vocabulary
    # The same seed draws the same crops and operations in the two zerovl rows, and the same tokens.
    assert torch.equal(batches['zerovl fast']['input_ids'], batches['zerovl reference']['input_ids'])
    difference = (batches['zerovl fast']['images'].int() - batches['zerovl reference']['images'].int()).abs()
    assert difference.float().mean() < 4


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
