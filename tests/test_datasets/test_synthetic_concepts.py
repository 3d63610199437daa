"""SyntheticConceptDataset: held-out synthetic images labelled by one attribute of their concept."""
import csv
import os.path as osp
import shutil

import pytest
import torch
from mmengine.dataset import ConcatDataset

from zerovl.datasets import SyntheticConceptDataset, image_text_collate
from zerovl.datasets.synthetic_concepts import ATTRIBUTE_CLASSES
from zerovl.datasets.synthetic.scenes import COLOURS, SHAPES
from zerovl.utils import register_all_modules

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='PackImageLabel')]


def concept_rows(root, domain, split='valid'):
    with open(osp.join(root, domain, f'{split}_concepts.csv'), newline='') as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize('attribute', sorted(ATTRIBUTE_CLASSES))
def test_labels_index_the_attribute_values(synthetic_root, attribute):
    dataset = SyntheticConceptDataset(synthetic_root, 'synth_b', attribute=attribute)
    rows = concept_rows(synthetic_root, 'synth_b')
    assert len(dataset) == len(rows) == 8
    assert dataset.metainfo['classes'] == ATTRIBUTE_CLASSES[attribute]
    for index, row in enumerate(rows):
        info = dataset.get_data_info(index)
        assert ATTRIBUTE_CLASSES[attribute][info['gt_label']] == row[attribute] == info['label_name']
        assert info['img_path'] == osp.abspath(osp.join(synthetic_root, 'synth_b', 'valid', row['image']))
        assert info['dataset_name'] == f'synth_b_{attribute}'


def test_samples_pack_and_collate_as_classification_batches(synthetic_root):
    register_all_modules()  # the pipeline's transforms are looked up in the zerovl scope
    shapes = SyntheticConceptDataset(synthetic_root, 'synth_a', attribute='shape', pipeline=PIPELINE)
    colours = SyntheticConceptDataset(synthetic_root, 'synth_a', attribute='colour', pipeline=PIPELINE)
    both = ConcatDataset([shapes, colours], ignore_keys=['classes'])
    batch = image_text_collate([both[i] for i in (0, 1, 8, 9)])
    assert set(batch['inputs']) == {'images'}
    assert batch['inputs']['images'].shape == (4, 3, 64, 64) and batch['inputs']['images'].dtype == torch.uint8
    rows = concept_rows(synthetic_root, 'synth_a')
    samples = batch['data_samples']
    assert [s['dataset_name'] for s in samples] == ['synth_a_shape'] * 2 + ['synth_a_colour'] * 2
    assert [s['gt_label'] for s in samples] == [SHAPES.index(rows[0]['shape']), SHAPES.index(rows[1]['shape']),
                                                list(COLOURS).index(rows[0]['colour']),
                                                list(COLOURS).index(rows[1]['colour'])]


def test_missing_table_and_bad_values_are_named(synthetic_root, tmp_path):
    with pytest.raises(ValueError, match='attribute must be one of'):
        SyntheticConceptDataset(synthetic_root, 'synth_a', attribute='texture')
    # A set generated before the concept tables existed.
    old = tmp_path / 'old'
    shutil.copytree(osp.join(synthetic_root, 'synth_a'), old / 'synth_a')
    (old / 'synth_a' / 'valid_concepts.csv').unlink()
    with pytest.raises(FileNotFoundError, match='make_synthetic.py'):
        SyntheticConceptDataset(str(old), 'synth_a')
    table = old / 'synth_a' / 'valid_concepts.csv'
    table.write_text('image,image_id,shape,colour,position,size\n000001.jpg,1,hexagon,red,top left,small\n')
    with pytest.raises(ValueError, match="line 2: shape 'hexagon'"):
        SyntheticConceptDataset(str(old), 'synth_a')
    table.write_text('image,image_id,shape\n000001.jpg,1,circle\n')
    with pytest.raises(ValueError, match='missing columns'):
        SyntheticConceptDataset(str(old), 'synth_a')
