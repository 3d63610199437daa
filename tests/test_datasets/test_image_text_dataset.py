import os.path as osp
import pickle

import pytest
from mmengine.dataset import ConcatDataset

from zerovl.datasets import BadSampleError, ImageTextDataset
from zerovl.registry import DATASETS

from image_text_helpers import TOY_CAPTIONS, make_source, write_csv


def test_rows_become_data_infos(toy_root):
    dataset = ImageTextDataset(data_root=str(toy_root), name='toy')
    assert len(dataset) == 6
    info = dataset.get_data_info(0)
    ann_file = str(toy_root / 'toy' / 'train_anno.csv')
    assert info == dict(img_path=str(toy_root / 'toy' / 'train' / '000.jpg'),
                        img_root=str(toy_root / 'toy' / 'train'), image_id='img0', caption='a red square.',
                        caption_id='cap0', row=2, dataset_name='toy', ann_file=ann_file, sample_idx=0)
    assert osp.isabs(info['img_path'])
    assert [dataset.get_data_info(i)['row'] for i in range(6)] == [2, 3, 4, 5, 6, 7]
    assert dataset.get_data_info(-1)['sample_idx'] == 5
    # Without a pipeline, __getitem__ is the data info itself.
    assert dataset[3]['caption'] == 'Two Dogs'


def test_na_caption_stays_a_string(toy_root):
    dataset = ImageTextDataset(data_root=str(toy_root), name='toy')
    assert [dataset.get_data_info(i)['caption'] for i in range(6)] == TOY_CAPTIONS
    assert dataset.get_data_info(4)['caption'] == 'NA'


def test_valid_split_and_path_overrides(tmp_path):
    make_source(tmp_path, 'coco', split='valid')
    dataset = ImageTextDataset(data_root=str(tmp_path), name='coco', split='valid')
    assert dataset.get_data_info(0)['img_path'] == str(tmp_path / 'coco' / 'valid' / '000.jpg')
    moved = ImageTextDataset(data_root=str(tmp_path), name='renamed', ann_file='coco/valid_anno.csv',
                             img_dir=str(tmp_path / 'coco' / 'valid'))
    assert moved.get_data_info(1)['dataset_name'] == 'renamed'
    assert moved.get_data_info(1)['img_path'] == str(tmp_path / 'coco' / 'valid' / '001.jpg')


def test_multiline_caption_and_bom_keep_true_line_numbers(tmp_path):
    (tmp_path / 'src' / 'train').mkdir(parents=True)
    ann_file = tmp_path / 'src' / 'train_anno.csv'
    ann_file.write_text('\ufeffimage,image_id,caption,caption_id\n'
                        'a.jpg,1,"two\nlines",1\n'
                        '\n'
                        'b.jpg,2,,2\n', encoding='utf-8')
    with pytest.raises(BadSampleError) as error:
        ImageTextDataset(data_root=str(tmp_path), name='src', on_error='raise')
    assert error.value.row == 5  # the header is line 1, the quoted caption spans lines 2-3, line 4 is blank
    assert error.value.column == 'caption'


def test_lazy_init_and_mmengine_kwargs(toy_root):
    dataset = ImageTextDataset(data_root=str(toy_root), name='toy', lazy_init=True, indices=3,
                               serialize_data=False)
    assert len(dataset) == 3
    assert dataset.get_data_info(2)['image_id'] == 'img2'


def test_built_from_config_and_picklable(toy_root):
    dataset = DATASETS.build(dict(type='ImageTextDataset', data_root=str(toy_root), name='toy'))
    restored = pickle.loads(pickle.dumps(dataset))
    assert restored.get_data_info(5) == dataset.get_data_info(5)


def test_concat_of_two_sources(tmp_path, zerovl_scope):
    make_source(tmp_path, 'cc3m')
    make_source(tmp_path, 'sbu', captions=['a cat', 'a dog'], colours=[(1, 2, 3), (4, 5, 6)])
    concat = ConcatDataset([
        dict(type='ImageTextDataset', data_root=str(tmp_path), name='cc3m'),
        ImageTextDataset(data_root=str(tmp_path), name='sbu'),
    ])
    assert len(concat) == 8
    assert concat.metainfo == {}
    assert concat.get_data_info(0)['dataset_name'] == 'cc3m'
    last = concat.get_data_info(7)
    assert (last['dataset_name'], last['caption'], last['sample_idx']) == ('sbu', 'a dog', 1)
    assert last['img_path'] == str(tmp_path / 'sbu' / 'train' / '001.jpg')


def test_missing_annotation_file_is_named(tmp_path):
    (tmp_path / 'toy' / 'train').mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r'annotation file.*toy/train_anno\.csv'):
        ImageTextDataset(data_root=str(tmp_path), name='toy')


def test_missing_image_directory_is_named(toy_root):
    with pytest.raises(FileNotFoundError, match=r'image directory.*toy/valid'):
        ImageTextDataset(data_root=str(toy_root), name='toy', ann_file='toy/train_anno.csv', split='valid')


def test_missing_column_names_file_column_and_found(toy_root):
    ann_file = toy_root / 'toy' / 'train_anno.csv'
    write_csv(ann_file, ['image', 'image_id', 'text', 'caption_id'], [['000.jpg', '1', 'a cat', '1']])
    with pytest.raises(ValueError) as error:
        ImageTextDataset(data_root=str(toy_root), name='toy')
    message = str(error.value)
    assert str(ann_file) in message and "['caption']" in message and "'text'" in message


@pytest.mark.parametrize('caption', ['', '   '])
def test_empty_caption_names_file_row_and_column(toy_root, caption):
    ann_file = toy_root / 'toy' / 'train_anno.csv'
    write_csv(ann_file, ['image', 'image_id', 'caption', 'caption_id'],
              [['000.jpg', '1', 'a cat', '1'], ['001.jpg', '2', caption, '2']])
    with pytest.raises(BadSampleError) as error:
        ImageTextDataset(data_root=str(toy_root), name='toy', on_error='raise')
    assert (error.value.file, error.value.row, error.value.column) == (str(ann_file), 3, 'caption')
    assert str(ann_file) in str(error.value) and 'row 3' in str(error.value) and "'caption'" in str(error.value)


def test_short_row_is_reported_with_its_row(toy_root):
    ann_file = toy_root / 'toy' / 'train_anno.csv'
    ann_file.write_text('image,image_id,caption,caption_id\n000.jpg,1\n', encoding='utf-8')
    with pytest.raises(BadSampleError, match='row 2'):
        ImageTextDataset(data_root=str(toy_root), name='toy', on_error='raise')
