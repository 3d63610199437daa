"""Writers of img2dataset shards (synthetic, CSV, LMDB): the layout, resuming, and verification (issue 17)."""
import json
import os
import tarfile

import pytest

from zerovl.datasets.converters.shards_convert import (convert_csv_to_shards, convert_lmdb_to_shards,
                                                       verify_shards, write_synthetic_shards)
from zerovl.datasets.converters.lmdb_convert import convert_csv_to_lmdb
from zerovl.datasets.shards.layout import list_shards
from zerovl.testing import load_script
from test_csv_to_lmdb_verify import HEADER, make_source, write_csv


def members(path):
    with tarfile.open(path) as tar:
        return {info.name: tar.extractfile(info).read() for info in tar.getmembers()}


def test_synthetic_shards_have_img2dataset_layout(tmp_path):
    summary = write_synthetic_shards(str(tmp_path), 25, samples_per_shard=10)
    assert (summary.shards, summary.samples) == (3, 25)
    names = sorted(os.listdir(tmp_path))
    assert [name for name in names if not name.endswith('.parquet')] == [
        '00000.tar', '00000_stats.json', '00001.tar', '00001_stats.json', '00002.tar', '00002_stats.json']
    assert [info.count for info in list_shards(str(tmp_path))] == [10, 10, 5]
    content = members(tmp_path / '00001.tar')
    # Keys are the shard number and the sample's number in it; each sample has .jpg, .txt, .json.
    assert sorted(content)[:3] == ['000010000.jpg', '000010000.json', '000010000.txt']
    assert len(content) == 30
    assert content['000010003.txt'] == b'synthetic sample 13'
    meta = json.loads(content['000010003.json'])
    assert (meta['key'], meta['caption'], meta['status']) == ('000010003', 'synthetic sample 13', 'success')
    stats = json.load(open(tmp_path / '00002_stats.json'))
    assert (stats['count'], stats['successes'], stats['failed_to_download']) == (5, 5, 0)


def test_rerun_skips_finished_shards_and_rewrites_unfinished_ones(tmp_path):
    write_synthetic_shards(str(tmp_path), 25, samples_per_shard=10)
    before = (tmp_path / '00000.tar').stat().st_mtime_ns
    os.remove(tmp_path / '00001_stats.json')  # killed while writing shard 1: its stats come last
    (tmp_path / '00001.tar').write_bytes(b'half a tar')
    summary = write_synthetic_shards(str(tmp_path), 25, samples_per_shard=10)
    assert (summary.shards, summary.shards_skipped, summary.samples) == (3, 2, 10)
    assert (tmp_path / '00000.tar').stat().st_mtime_ns == before  # not rewritten
    assert verify_shards(str(tmp_path)).ok
    # Another request (other shard size) is not mistaken for finished work.
    summary = write_synthetic_shards(str(tmp_path), 25, samples_per_shard=5)
    assert (summary.shards, summary.shards_skipped) == (5, 0)


def test_verify_names_truncated_missing_and_miscounted_shards(tmp_path):
    write_synthetic_shards(str(tmp_path), 30, samples_per_shard=10)
    assert verify_shards(str(tmp_path)).ok
    data = (tmp_path / '00000.tar').read_bytes()
    (tmp_path / '00000.tar').write_bytes(data[:len(data) // 2])
    os.remove(tmp_path / '00001.tar')
    stats = json.load(open(tmp_path / '00002_stats.json'))
    stats['successes'] = 11
    json.dump(stats, open(tmp_path / '00002_stats.json', 'w'))
    report = verify_shards(str(tmp_path))
    assert not report.ok and report.declared == 31
    text = '\n'.join(report.problems)
    assert '00000.tar: tar ends' in text
    assert '00001.tar: cannot be opened' in text
    assert '00002.tar: 10 samples in the tar, its stats declare 11' in text


def test_csv_to_shards_counts_failed_rows_and_keeps_captions(tmp_path):
    make_source(tmp_path, 'toy')
    rows = [[f'{i:03d}.jpg', str(i), f'image {i}', str(i)] for i in range(6)]
    rows[2][0] = 'missing.jpg'
    rows[4][2] = ''  # a row the dataset would drop
    write_csv(tmp_path / 'toy' / 'train_anno.csv', HEADER, rows)
    main = load_script('tools/dataset_converters/csv_to_shards.py').main
    assert main([str(tmp_path), 'toy', '--samples-per-shard', '4', '--verify']) == 0
    out = tmp_path / 'toy' / 'train_shards'
    stats = [json.load(open(out / f'0000{i}_stats.json')) for i in range(2)]
    assert [(s['count'], s['successes'], s['failed_to_download']) for s in stats] == [(4, 3, 1), (2, 1, 1)]
    content = members(out / '00000.tar')
    assert content['000000003.txt'] == b'image 3'
    assert json.loads(content['000000003.json'])['image'] == '003.jpg'
    assert content['000000003.jpg'] == (tmp_path / 'toy' / 'train' / '003.jpg').read_bytes()
    assert '000000002.jpg' not in content  # the missing image


def test_lmdb_to_shards_writes_the_same_samples_as_csv_to_shards(tmp_path):
    make_source(tmp_path, 'toy')
    convert_csv_to_lmdb(str(tmp_path / 'toy' / 'train_anno.csv'), str(tmp_path / 'toy' / 'train'),
                        str(tmp_path / 'toy.lmdb'), max_rows_per_shard=4, progress=False)
    from_lmdb = convert_lmdb_to_shards(str(tmp_path / 'toy.lmdb'), str(tmp_path / 'from_lmdb'), 4)
    from_csv = convert_csv_to_shards(str(tmp_path / 'toy' / 'train_anno.csv'), str(tmp_path / 'toy' / 'train'),
                                     str(tmp_path / 'from_csv'), 4)
    assert from_lmdb.samples == from_csv.samples == 6
    for name in ('00000.tar', '00001.tar'):
        assert members(tmp_path / 'from_lmdb' / name) == members(tmp_path / 'from_csv' / name)


def test_unknown_source_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='no shard stats'):
        list_shards(str(tmp_path))


def test_shards_back_to_csv_feed_the_evaluation_dataset(tmp_path):
    from zerovl.datasets import ImageTextDataset
    make_source(tmp_path, 'toy')
    convert_csv_to_shards(str(tmp_path / 'toy' / 'train_anno.csv'), str(tmp_path / 'toy' / 'train'),
                          str(tmp_path / 'shards'), 4)
    data = (tmp_path / 'shards' / '00001.tar').read_bytes()
    (tmp_path / 'shards' / '00001.tar').write_bytes(data[:len(data) - 1100])  # cut into its last sample
    main = load_script('tools/dataset_converters/shards_to_csv.py').main
    assert main([str(tmp_path / 'shards'), str(tmp_path), 'back']) == 1  # the truncation is reported
    dataset = ImageTextDataset(data_root=str(tmp_path), name='back', split='valid', test_mode=True)
    assert len(dataset) == 5  # 4 + the complete sample of the cut shard
    info = dataset.get_data_info(2)
    assert (info['caption'], info['image_id']) == ('image 2', '000000002')
    assert open(info['img_path'], 'rb').read() == (tmp_path / 'toy' / 'train' / '002.jpg').read_bytes()
