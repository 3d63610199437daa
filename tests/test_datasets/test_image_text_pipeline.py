"""The whole data path: CSV rows -> transforms -> DataLoader workers -> collated batch."""
import pytest
import torch
from mmengine.dataset import DefaultSampler
from mmengine.runner import Runner
from torch.utils.data import DataLoader

from zerovl.datasets import BadSampleError, ImageTextDataset, image_text_collate
from zerovl.datasets.transforms import LoadImageFromFile

from image_text_helpers import VOCAB


def eval_pipeline(vocab_file, max_length=8):
    return [
        dict(type='LoadImageFromFile'),
        dict(type='ResizeImage', size=40),
        dict(type='CenterCrop', size=32),
        dict(type='Tokenize', tokenizer=vocab_file, max_length=max_length),
        dict(type='PackImageTextInputs'),
    ]


def train_pipeline(vocab_file, max_length=8):
    return [
        dict(type='LoadImageFromFile'),
        dict(type='mmpretrain.RandomResizedCrop', scale=24, crop_ratio_range=(0.6, 1.0)),
        dict(type='Tokenize', tokenizer=vocab_file, max_length=max_length),
        dict(type='PackImageTextInputs'),
    ]


def check_batch(batch, batch_size, image_size, max_length=8):
    inputs = batch['inputs']
    assert inputs['images'].shape == (batch_size, 3, image_size, image_size)
    assert inputs['images'].dtype == torch.uint8 and inputs['images'].is_contiguous()
    assert inputs['input_ids'].shape == inputs['attention_mask'].shape == (batch_size, max_length)
    assert inputs['input_ids'].dtype == inputs['attention_mask'].dtype == torch.long
    assert len(batch['data_samples']) == batch_size


def test_sample_is_packed(toy_root, vocab_file, zerovl_scope):
    dataset = ImageTextDataset(data_root=str(toy_root), name='toy', pipeline=eval_pipeline(vocab_file))
    # The default scope makes 'LoadImageFromFile' ours, not mmcv's (which mmcv registers in mmengine's
    # root registry and which would give BGR images).
    assert isinstance(dataset.pipeline.transforms[0], LoadImageFromFile)
    sample = dataset[0]
    assert sample['data_samples'] == dict(image_id='img0', caption_id='cap0', dataset_name='toy', sample_idx=0)
    images = sample['inputs']['images']
    assert images.shape == (3, 32, 32) and images.dtype == torch.uint8
    # The first image is pure red: after loading, channel 0 (R) is high and the others low (JPEG noise aside).
    assert images[0].float().mean() > 240 and images[1:].float().mean() < 15
    assert sample['inputs']['input_ids'].tolist()[:6] == [VOCAB.index(t) for t in
                                                          ('[CLS]', 'a', 'red', 'square', '.', '[SEP]')]


@pytest.mark.parametrize('num_workers', [0, 2])
def test_dataloader_batches(toy_root, vocab_file, zerovl_scope, num_workers):
    dataset = ImageTextDataset(data_root=str(toy_root), name='toy', pipeline=train_pipeline(vocab_file))
    loader = DataLoader(dataset, batch_size=3, num_workers=num_workers, collate_fn=image_text_collate)
    batches = list(loader)
    assert len(batches) == 2
    for batch in batches:
        check_batch(batch, 3, 24)
    assert [s['sample_idx'] for b in batches for s in b['data_samples']] == list(range(6))
    red = batches[0]['inputs']['images'][0].float()
    assert red[0].mean() > 240 and red[1:].mean() < 15


def test_runner_builds_the_dataloader_from_config(toy_root, vocab_file, zerovl_scope):
    loader = Runner.build_dataloader(dict(
        batch_size=2, num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(type='ConcatDataset', datasets=[
            dict(type='ImageTextDataset', data_root=str(toy_root), name='toy',
                 pipeline=eval_pipeline(vocab_file)),
            dict(type='ImageTextDataset', data_root=str(toy_root), name='toy', ann_file='toy/train_anno.csv',
                 pipeline=eval_pipeline(vocab_file)),
        ]),
        collate_fn=dict(type='zerovl.image_text_collate')))
    assert isinstance(loader.sampler, DefaultSampler)
    batches = list(loader)
    assert len(batches) == 6
    for batch in batches:
        check_batch(batch, 2, 32)


def test_bad_image_in_a_worker_reports_the_row(toy_root, vocab_file, zerovl_scope):
    (toy_root / 'toy' / 'train' / '004.jpg').write_bytes(b'')
    # on_error='raise' (the evaluation default) spelled out: training datasets skip by default.
    dataset = ImageTextDataset(data_root=str(toy_root), name='toy', pipeline=eval_pipeline(vocab_file),
                               on_error='raise')
    loader = DataLoader(dataset, batch_size=6, num_workers=1, collate_fn=image_text_collate)
    with pytest.raises(BadSampleError) as error:
        next(iter(loader))
    message = str(error.value)
    assert str(toy_root / 'toy' / 'train_anno.csv') in message and 'row 6' in message and "'image'" in message
