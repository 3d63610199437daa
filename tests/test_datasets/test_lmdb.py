"""CSV + image folder -> LMDB shards: same samples as the files, resumable, verifiable, worker-safe."""
import json
import os
import pickle

import cv2
import lmdb
import numpy as np
import pytest
from torch.utils.data import DataLoader

from zerovl.datasets import BadSampleError, ImageTextDataset, convert_csv_to_lmdb, verify_lmdb
from zerovl.datasets import lmdb_backend
from zerovl.datasets.converters import lmdb_convert
from zerovl.testing import load_script as load_script_at

from image_text_helpers import TOY_CAPTIONS, write_csv

LOAD = [dict(type='LoadImageFromFile')]
PATH_KEYS = ('img_path', 'img_root', 'lmdb_path', 'lmdb_key')


def convert(root, name='toy', **kwargs):
    base = root / name
    return convert_csv_to_lmdb(str(base / 'train_anno.csv'), str(base / 'train'), str(base / 'train.lmdb'),
                               progress=False, **kwargs)


def load_tool(path):
    """A tools/ script as a module (tools/ is no package), so its main runs in this process."""
    return load_script_at(path)


def without_paths(info):
    return {key: value for key, value in info.items() if key not in PATH_KEYS}


def delete_keys(shard, *names):
    """Remove images from a finished shard, as a damaged copy would miss them."""
    lmdb_backend.forget_cached_env(shard)
    env = lmdb.open(shard, subdir=True)
    with env.begin(write=True) as txn:
        for name in names:
            assert txn.delete(lmdb_backend.image_key(name))
    env.close()


def test_lmdb_source_serves_the_same_samples_as_the_files(toy_root, zerovl_scope):
    summary = convert(toy_root, max_rows_per_shard=4)
    assert (summary.shards, summary.rows, summary.images_written) == (2, 6, 6)
    assert sorted(os.listdir(toy_root / 'toy' / 'train.lmdb')) == ['shard-00000', 'shard-00001']
    files = ImageTextDataset(data_root=str(toy_root), name='toy', pipeline=LOAD)
    shards = ImageTextDataset(data_root=str(toy_root), name='toy', source='lmdb', pipeline=LOAD)
    assert len(shards) == len(files) == 6
    for i in range(6):
        assert without_paths(shards.get_data_info(i)) == without_paths(files.get_data_info(i))
        np.testing.assert_array_equal(shards[i]['img'], files[i]['img'])
    info = shards.get_data_info(5)
    assert info['lmdb_path'].endswith('train.lmdb/shard-00001') and info['lmdb_key'] == '005.jpg'
    assert info['ann_file'] == str(toy_root / 'toy' / 'train_anno.csv')  # errors still name the CSV


def test_lmdb_source_needs_no_csv_or_image_folder(toy_root, zerovl_scope):
    convert(toy_root)
    (toy_root / 'toy' / 'train_anno.csv').unlink()
    for path in (toy_root / 'toy' / 'train').iterdir():
        path.unlink()
    dataset = ImageTextDataset(data_root=str(toy_root), name='toy', source='lmdb', pipeline=LOAD)
    assert [dataset.get_data_info(i)['caption'] for i in range(6)] == TOY_CAPTIONS
    assert dataset[0]['img'][..., 0].mean() > 240  # the red image, in RGB order


def test_rerun_skips_finished_shards(toy_root):
    convert(toy_root, max_rows_per_shard=4)
    again = convert(toy_root, max_rows_per_shard=4)
    assert (again.shards_skipped, again.images_written, again.images_present) == (2, 0, 0)


def test_interrupted_conversion_resumes(toy_root, monkeypatch):
    monkeypatch.setattr(lmdb_convert, 'COMMIT_BYTES', 1)  # commit every image, like a long run's batches
    real_read = lmdb_convert._read_image
    calls = []

    def read_then_crash(*args):
        calls.append(args[0])
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real_read(*args)

    monkeypatch.setattr(lmdb_convert, '_read_image', read_then_crash)
    with pytest.raises(KeyboardInterrupt):
        convert(toy_root)
    with pytest.raises(RuntimeError, match='incomplete.*rerun'):
        ImageTextDataset(data_root=str(toy_root), name='toy', source='lmdb')
    monkeypatch.setattr(lmdb_convert, '_read_image', real_read)
    resumed = convert(toy_root)
    assert (resumed.images_present, resumed.images_written) == (3, 3)
    assert len(ImageTextDataset(data_root=str(toy_root), name='toy', source='lmdb')) == 6


def test_changed_csv_rewrites_the_shard_and_fewer_shards_remove_stale_ones(toy_root):
    convert(toy_root, max_rows_per_shard=2)
    ann_file = toy_root / 'toy' / 'train_anno.csv'
    write_csv(ann_file, ['image', 'image_id', 'caption', 'caption_id'],
              [['000.jpg', '1', 'a new caption', '1'], ['001.jpg', '2', 'another', '2']])
    summary = convert(toy_root, max_rows_per_shard=2)
    assert (summary.shards, summary.shards_skipped, summary.images_written) == (1, 0, 2)
    assert os.listdir(toy_root / 'toy' / 'train.lmdb') == ['shard-00000']
    dataset = ImageTextDataset(data_root=str(toy_root), name='toy', source='lmdb')
    assert [dataset.get_data_info(i)['caption'] for i in range(2)] == ['a new caption', 'another']


def test_map_size_grows_when_full(toy_root, monkeypatch, zerovl_scope):
    noise = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    for i in range(6):  # incompressible images: about 6 x 100 KB against a 64 KB map
        cv2.imwrite(str(toy_root / 'toy' / 'train' / f'{i:03d}.jpg'), noise, [cv2.IMWRITE_JPEG_QUALITY, 100])
    monkeypatch.setattr(lmdb_convert, '_initial_map_size', lambda *args: 64 << 10)
    summary = convert(toy_root)
    assert summary.images_written == 6
    dataset = ImageTextDataset(data_root=str(toy_root), name='toy', source='lmdb', pipeline=LOAD)
    assert dataset[5]['img'].shape == (200, 200, 3)


def test_max_side_reencodes_only_oversized_images(toy_root, zerovl_scope):
    big = np.zeros((120, 300, 3), np.uint8)
    big[:, :150] = (0, 0, 255)  # left half red (BGR)
    cv2.imwrite(str(toy_root / 'toy' / 'train' / '002.png'), big)
    ann_file = toy_root / 'toy' / 'train_anno.csv'
    write_csv(ann_file, ['image', 'image_id', 'caption', 'caption_id'],
              [['000.jpg', '1', 'small', '1'], ['002.png', '2', 'big', '2']])
    summary = convert(toy_root, max_side=100)
    assert summary.images_resized == 1
    dataset = ImageTextDataset(data_root=str(toy_root), name='toy', source='lmdb', pipeline=LOAD)
    small = lmdb_backend.read_value(dataset.get_data_info(0)['lmdb_path'], b'000.jpg')
    assert small == (toy_root / 'toy' / 'train' / '000.jpg').read_bytes()  # stored as is
    img = dataset[1]['img']
    assert img.shape == (40, 100, 3)  # aspect ratio kept
    assert img[:, :45, 0].mean() > 240 and img[:, 55:, 0].mean() < 15


def test_verify_lists_bad_rows_and_cli_exit_status(toy_root, capsys):
    (toy_root / 'toy' / 'train' / '001.jpg').write_bytes(b'not an image')
    (toy_root / 'toy' / 'train' / '003.jpg').unlink()
    summary = convert(toy_root)
    assert summary.missing_images == ['003.jpg']
    report = verify_lmdb(str(toy_root / 'toy' / 'train.lmdb'), progress=False)
    assert (report.rows, report.images) == (6, 6)
    assert [(line, key) for line, key, _ in report.bad] == [(3, '001.jpg'), (5, '003.jpg')]
    assert 'cannot decode' in report.bad[0][2] and 'key not found' in report.bad[1][2]

    main = load_tool('tools/dataset_converters/csv_to_lmdb.py').main
    assert main([str(toy_root), 'toy', '--verify', '--no-progress']) == 1
    out = capsys.readouterr().out
    assert '2 bad rows' in out and "row 3, key '001.jpg'" in out and 'missing 1' in out


def test_missing_key_names_lmdb_key_and_csv_row(toy_root, zerovl_scope):
    convert(toy_root)
    shard = str(toy_root / 'toy' / 'train.lmdb' / 'shard-00000')
    delete_keys(shard, '004.jpg')
    dataset = ImageTextDataset(data_root=str(toy_root), name='toy', source='lmdb', pipeline=LOAD,
                               on_error='raise')
    with pytest.raises(BadSampleError) as error:
        dataset[4]
    message = str(error.value)
    assert shard in message and "'004.jpg'" in message and 'not found' in message
    assert str(toy_root / 'toy' / 'train_anno.csv') in message and 'row 6' in message


def test_missing_lmdb_is_named(toy_root):
    with pytest.raises(FileNotFoundError, match=r"dataset 'toy'.*toy/train\.lmdb.*csv_to_lmdb"):
        ImageTextDataset(data_root=str(toy_root), name='toy', source='lmdb')
    with pytest.raises(ValueError, match='source must be one of'):
        ImageTextDataset(data_root=str(toy_root), name='toy', source='tar')


def test_readers_need_no_lock_file_and_reopen_after_fork(toy_root, zerovl_scope):
    convert(toy_root, max_rows_per_shard=3)
    for shard in (toy_root / 'toy' / 'train.lmdb').iterdir():
        (shard / 'lock.mdb').unlink()  # read-only storage, or a copy without it
    dataset = ImageTextDataset(data_root=str(toy_root), name='toy', source='lmdb', pipeline=LOAD)
    first = dataset[0]['img']  # opens an environment in this process before the workers fork
    assert not any((shard / 'lock.mdb').exists() for shard in (toy_root / 'toy' / 'train.lmdb').iterdir())
    restored = pickle.loads(pickle.dumps(dataset))  # nothing unpicklable is held by the dataset
    loader = DataLoader(restored, batch_size=None, num_workers=2)
    images = [sample['img'] for sample in loader]
    assert len(images) == 6
    np.testing.assert_array_equal(images[0], first)
    assert images[2][..., 2].float().mean() > 240  # third image is blue: each worker read its own rows right


def test_meta_describes_the_shard(toy_root):
    convert(toy_root, max_rows_per_shard=4)
    env = lmdb_backend.open_readonly(str(toy_root / 'toy' / 'train.lmdb' / 'shard-00001'))
    meta = lmdb_backend.read_meta(env, 'shard')
    env.close()
    assert meta['format_version'] == lmdb_backend.FORMAT_VERSION and meta['complete']
    assert (meta['shard'], meta['num_shards'], meta['num_rows'], meta['first_row']) == (1, 2, 2, 4)
    assert meta['columns'] == ['image', 'image_id', 'caption', 'caption_id'] and meta['images'] == 2
    assert json.loads(json.dumps(meta)) == meta


def test_long_and_reserved_names_get_hashed_keys():
    assert lmdb_backend.image_key('a.jpg') == b'a.jpg'
    assert lmdb_backend.image_key('__meta__') != b'__meta__'
    long_key = lmdb_backend.image_key('x' * 600 + '.jpg')
    assert len(long_key) <= lmdb_backend.MAX_KEY_BYTES and long_key.startswith(b'__sha1__:')


def _read_in_child(shard, inherited, queue):
    lmdb_backend.read_value(shard, b'000.jpg')
    queue.put(lmdb_backend._ENVS[shard] is not inherited and lmdb_backend._ENVS_PID == os.getpid())


def test_a_forked_process_opens_its_own_environment(toy_root):
    import multiprocessing
    convert(toy_root)
    shard = str(toy_root / 'toy' / 'train.lmdb' / 'shard-00000')
    lmdb_backend.read_value(shard, b'000.jpg')
    inherited = lmdb_backend._ENVS[shard]
    context = multiprocessing.get_context('fork')
    queue = context.Queue()
    child = context.Process(target=_read_in_child, args=(shard, inherited, queue))
    child.start()
    assert queue.get(timeout=30) is True
    child.join(timeout=30)
    assert lmdb_backend._ENVS[shard] is inherited  # the parent keeps its own
