"""Your own image-caption data from one dict: ``custom_data`` feeds the train, val and test dataloaders.

A dataset config built from variables is evaluated when MMEngine reads it, so a leaf config (or
``--cfg-options``) that changes ``data_root`` afterwards changes nothing that was built from it, and the
test loader, a copy of the val loader made at the same time, needs its own overrides again. Here the
loaders are built after the whole config, overrides included, is known: a config with ``custom_data``
(configs/_base_/datasets/custom_csv.py) gets ``train_dataloader``, ``val_dataloader`` and
``test_dataloader`` from it in :func:`apply_custom_data`, which ``load_config`` calls for every tool.
Whatever the config itself says about a loader (``train_dataloader = dict(num_workers=8)``, or
``--cfg-options test_dataloader.batch_size=512``) is merged over the built one and wins.
"""
import copy
from typing import Any, Dict, List, Optional

from zerovl.utils.schema import check_keys

# What a user may set; None means "as the related setting" (see resolve_settings).
DEFAULTS: Dict[str, Any] = dict(
    data_root='data/custom',       # holds one folder per source: {name}/{split}_anno.csv + {name}/{split}/
    names=['custom'],              # sources trained on
    val_names=None,                # sources evaluated during training; None: names
    test_names=None,               # sources tools/test.py reports; None: val_names
    train_split='train',
    val_split='valid',
    test_split='valid',
    source='files',                # or 'lmdb' (tools/dataset_converters/csv_to_lmdb.py), or 'shards': training
                                   # streams {name}/{train_split}_shards/ (img2dataset's webdataset layout,
                                   # tools/dataset_converters/csv_to_shards.py); evaluation reads the CSV files
    image_size=224,
    tokenizer='bert-base-uncased',  # the text tower's own tokenizer: a hub name, a folder or a vocab.txt
    max_length=25,                 # tokens per caption, [CLS] and [SEP] included
    batch_size=64,                 # per process; tools/train.py checks it against the training rows
    eval_batch_size=None,          # None: 2 x batch_size (no gradients to keep)
    num_workers=2,
    sampler_mode='shuffle',        # DebiasedBatchSampler mode: 'debias' draws each batch from one source
    crop_range=(0.6, 1.0),         # RandomResizedCrop area fraction (ZeroVL's); None: no crop, resize only
    caption_augment=True,          # ZeroVL's caption augmentation (10 % [MASK], 2 % random, 8 % deleted)
)
LOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def resolve_settings(custom_data: dict) -> dict:
    """The defaults with ``custom_data`` over them; an unknown key raises naming it."""
    check_keys(custom_data, DEFAULTS, 'custom_data')
    settings = {**copy.deepcopy(DEFAULTS), **copy.deepcopy(dict(custom_data))}
    for key in ('names', 'val_names', 'test_names'):
        if isinstance(settings[key], str):
            settings[key] = [settings[key]]
    settings['val_names'] = settings['val_names'] or settings['names']
    settings['test_names'] = settings['test_names'] or settings['val_names']
    settings['eval_batch_size'] = settings['eval_batch_size'] or 2 * settings['batch_size']
    return settings


def build_pipelines(settings: dict) -> Dict[str, List[dict]]:
    """Training (crop, caption augmentation) and evaluation (square resize) pipelines."""
    size, tokenizer = settings['image_size'], settings['tokenizer']
    if settings['crop_range'] is None:
        image_step = dict(type='ResizeImage', size=size)
    else:
        image_step = dict(type='mmpretrain.RandomResizedCrop', scale=size,
                          crop_ratio_range=tuple(settings['crop_range']), aspect_ratio_range=(3. / 4., 4. / 3.),
                          interpolation='bicubic', backend='pillow')
    tokenize = dict(type='Tokenize', tokenizer=tokenizer, max_length=settings['max_length'])
    train = [dict(type='LoadImageFromFile'), image_step]
    if settings['caption_augment']:
        train.append(dict(type='CaptionAugment', tokenizer=tokenizer))
    train += [tokenize, dict(type='PackImageTextInputs')]
    test = [dict(type='LoadImageFromFile'), dict(type='ResizeImage', size=size), copy.deepcopy(tokenize),
            dict(type='PackImageTextInputs')]
    return dict(train=train, test=test)


def _dataset(settings: dict, names: List[str], split: str, pipeline: List[dict], test_mode: bool) -> dict:
    source = 'files' if settings['source'] == 'shards' else settings['source']
    parts = [dict(type='ImageTextDataset', data_root=settings['data_root'], name=name, split=split,
                  source=source, pipeline=copy.deepcopy(pipeline), test_mode=test_mode)
             for name in names]
    return parts[0] if len(parts) == 1 else dict(type='ConcatDataset', datasets=parts)


def _shard_train_loader(settings: dict, pipeline: List[dict]) -> dict:
    """Training streamed from shards: the dataset batches itself (one source per global batch in 'debias'
    mode) and takes the place of the sampler (configs/_base_/datasets/shards.py)."""
    workers = settings['num_workers']
    sources = [dict(name=name, path=f"{name}/{settings['train_split']}_shards") for name in settings['names']]
    return dict(batch_size=None, sampler=None, num_workers=workers, persistent_workers=workers > 0,
                collate_fn=dict(type='zerovl.shard_batch_collate'),
                dataset=dict(type='ShardImageTextDataset', data_root=settings['data_root'], sources=sources,
                             batch_size=settings['batch_size'], num_workers=workers, mode=settings['sampler_mode'],
                             pipeline=copy.deepcopy(pipeline)))


def build_loaders(settings: dict) -> Dict[str, dict]:
    """The three dataloader configs ``settings`` describe."""
    pipelines = build_pipelines(settings)
    common = dict(num_workers=settings['num_workers'], persistent_workers=settings['num_workers'] > 0,
                  collate_fn=dict(type='zerovl.image_text_collate'))
    if settings['source'] == 'shards':
        train = _shard_train_loader(settings, pipelines['train'])
    else:
        train = dict(common, batch_size=settings['batch_size'], sampler=dict(type='DefaultSampler', shuffle=True),
                     batch_sampler=dict(type='DebiasedBatchSampler', mode=settings['sampler_mode']),
                     dataset=_dataset(settings, settings['names'], settings['train_split'], pipelines['train'],
                                      False))

    def evaluation(names: List[str], split: str) -> dict:
        return dict(copy.deepcopy(common), batch_size=settings['eval_batch_size'],
                    sampler=dict(type='DefaultSampler', shuffle=False),
                    dataset=_dataset(settings, names, split, pipelines['test'], True))

    return dict(train_dataloader=train, val_dataloader=evaluation(settings['val_names'], settings['val_split']),
                test_dataloader=evaluation(settings['test_names'], settings['test_split']))


def merge_over(base: dict, override: Optional[dict]) -> dict:
    """``base`` with ``override``'s keys set over it, dicts merged key by key, anything else replaced."""
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_over(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def apply_custom_data(cfg) -> None:
    """Build ``cfg``'s three dataloaders from ``cfg.custom_data`` (nothing to do without it), keeping
    what the config sets in them itself. Building from the dumped config of a run gives the same loaders."""
    if cfg.get('custom_data') is None:
        return
    settings = resolve_settings(cfg.custom_data)
    built = build_loaders(settings)
    for key in LOADER_KEYS:
        own = cfg.get(key)
        cfg[key] = merge_over(built[key], own.to_dict() if hasattr(own, 'to_dict') else own)
