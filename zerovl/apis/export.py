"""Write an exported zerovl model (layout in :mod:`zerovl.apis.exported`) from a training checkpoint and its config.

What inference needs is kept: the model config without its training-only parts (mixup, DGA, pre-trained
weight sources), the normalisation, the config's test pipeline and its tokenizer. Files the config names
on this machine (a WordPiece vocabulary, a tokenizer folder) and the text tower's Hugging Face config are
copied into the folder, so the export works on a machine without this checkout, the data or the hub.
"""
import json
import os
import os.path as osp
import shutil
from copy import deepcopy
from typing import List, Mapping, Optional

import torch
from mmengine.config import Config

from zerovl.utils.safetensors_file import save_safetensors
from zerovl.utils.atomic_file import write_text_atomically
from .exported import (EXPORT_FORMAT, EXPORT_VERSION, MANIFEST_FILE, TEXT_CONFIG_DIR, TOKENIZER_DIR, WEIGHTS_FILE,
                       ExportError, load_state_dict_strictly)
from .manifest_checks import check_manifest

# Model config keys that only matter while training.
TRAINING_ONLY_KEYS = ('mixup', 'dga', 'init_cfg')
LOADING_TRANSFORMS = ('LoadImageFromFile', )


def type_name(step: Mapping) -> str:
    """A registered type name without its scope (``'zerovl.Tokenize'`` -> ``'Tokenize'``)."""
    return str(step.get('type', '')).split('.')[-1]


def check_dual_encoder(model_cfg: Mapping) -> None:
    """Only a DualEncoder (or a subclass, e.g. a project's) embeds both images and texts."""
    from zerovl.models import DualEncoder
    from zerovl.registry import MODELS
    model_type = model_cfg.get('type')
    model_class = MODELS.get(model_type) if isinstance(model_type, str) else model_type
    if not (isinstance(model_class, type) and issubclass(model_class, DualEncoder)):
        raise ExportError(f'model.type is {model_type!r}: only a DualEncoder embeds both images and texts, '
                          'so only one can be exported for the inferencer')


def inference_model_config(model_cfg: Mapping) -> dict:
    """The model config rebuilt from the export: nothing to train, nothing to download."""
    model_cfg = deepcopy(dict(model_cfg))
    check_dual_encoder(model_cfg)
    for key in TRAINING_ONLY_KEYS:
        model_cfg.pop(key, None)
    for tower in ('image_tower', 'text_tower'):
        model_cfg[tower] = dict(model_cfg[tower])
        # The export's weights replace any pre-trained ones, so they are never fetched. HFTextTower
        # loads weights unless told not to, hence the explicit False even where the config left it out.
        if 'pretrained' in model_cfg[tower] or type_name(model_cfg[tower]) == 'HFTextTower':
            model_cfg[tower]['pretrained'] = False
        model_cfg[tower].pop('checkpoint', None)
    return model_cfg


def inference_pipeline(cfg: Config) -> List[dict]:
    """The test dataloader's pipeline: one for all the datasets of a concatenation, or an error."""
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    if not loader:
        raise ExportError('the config has no test_dataloader (nor val_dataloader) to take the test pipeline from')
    dataset = loader['dataset']
    pipelines = [part.get('pipeline') for part in dataset.get('datasets', [dataset])]
    if not pipelines or pipelines[0] is None:
        raise ExportError('the test dataset config has no pipeline')
    if any(pipeline != pipelines[0] for pipeline in pipelines[1:]):
        raise ExportError('the datasets of test_dataloader have different pipelines; an export holds one')
    pipeline = [dict(step) for step in pipelines[0]]
    names = [type_name(step) for step in pipeline]
    if not names or names[0] not in LOADING_TRANSFORMS:
        raise ExportError(f'the test pipeline must start with LoadImageFromFile (it has {names}): the inferencer '
                          'replaces that step when it is given image arrays')
    if names.count('Tokenize') != 1:
        raise ExportError(f'the test pipeline needs exactly one Tokenize step (it has {names})')
    return pipeline


def image_size_of(pipeline: List[dict]) -> Optional[List[int]]:
    """(height, width) of the images the test pipeline makes, found by running its image steps on two
    blank images of opposite orientation; None when the size follows the input (no fixed crop or resize)."""
    import numpy as np

    import zerovl.datasets  # noqa: F401  registers the transforms
    from zerovl.registry import TRANSFORMS
    steps = [TRANSFORMS.build(dict(step)) for step in pipeline[1:]
             if 'tokenizer' not in step and not type_name(step).startswith('Pack')]
    sizes = set()
    for shape in ((240, 320, 3), (320, 240, 3)):
        results = dict(img=np.full(shape, 128, dtype=np.uint8), img_shape=shape[:2], ori_shape=shape[:2])
        for step in steps:
            results = step(results)
        sizes.add(tuple(results['img'].shape[:2]))
    return list(sizes.pop()) if len(sizes) == 1 else None


def bundle_tokenizer(pipeline: List[dict], out_dir: str) -> dict:
    """Copy a tokenizer named by a local path into the export and point the pipeline at the copy."""
    step = next(step for step in pipeline if type_name(step) == 'Tokenize')
    name, max_length = step['tokenizer'], step.get('max_length', 25)
    target = osp.join(out_dir, TOKENIZER_DIR)
    if osp.isfile(name):
        relative = osp.join(TOKENIZER_DIR, osp.basename(name))
        os.makedirs(target, exist_ok=True)
        shutil.copyfile(name, osp.join(out_dir, relative))
    elif osp.isdir(name):
        relative = TOKENIZER_DIR
        shutil.copytree(name, target, dirs_exist_ok=True)
    else:  # a hub name: the inferencer needs the hub or its cache, as training did
        return dict(name_or_path=name, max_length=max_length, bundled=False)
    for other in pipeline:  # CaptionAugment and Tokenize share the tokenizer
        if 'tokenizer' in other:
            other['tokenizer'] = relative
    return dict(name_or_path=relative, max_length=max_length, bundled=True)


def bundle_text_config(model, model_cfg: dict, out_dir: str) -> Optional[str]:
    """Save the text tower's Hugging Face config so rebuilding it needs no hub; None for other towers."""
    config = getattr(getattr(model.text_tower, 'model', None), 'config', None)
    if config is None or not hasattr(config, 'save_pretrained'):
        return None
    config.save_pretrained(osp.join(out_dir, TEXT_CONFIG_DIR))
    # The saved config already holds any architecture overrides of the original ``config`` argument.
    model_cfg['text_tower'].pop('config', None)
    model_cfg['text_tower']['model_name_or_path'] = TEXT_CONFIG_DIR
    return TEXT_CONFIG_DIR


def checkpoint_state_dict(checkpoint, source: str) -> dict:
    """The model weights of an MMEngine checkpoint (or of a bare state dict)."""
    if not isinstance(checkpoint, Mapping):
        raise ExportError(f'{source}: expected a checkpoint dict, got {type(checkpoint).__name__}')
    state_dict = checkpoint.get('state_dict', checkpoint)
    not_tensors = sorted(key for key, value in state_dict.items() if not isinstance(value, torch.Tensor))
    if not_tensors:
        raise ExportError(f'{source}: no "state_dict" of tensors; found non-tensor entries {not_tensors[:10]}')
    if state_dict and all(key.startswith('module.') for key in state_dict):
        state_dict = {key[len('module.'):]: value for key, value in state_dict.items()}
    return dict(state_dict)


def without_training_modules(state_dict: dict) -> dict:
    """Drop the state of modules the export does not build (the mixup's step counter): it only steers
    training and would be an unexpected key in the inference model."""
    prefixes = tuple(f'{key}.' for key in TRAINING_ONLY_KEYS)
    return {key: value for key, value in state_dict.items() if not key.startswith(prefixes)}


def with_explicit_normalisation(model_cfg: dict, model) -> dict:
    """The data preprocessor config with the mean/std the model really uses, defaults included, so the
    manifest states them rather than relying on this version's defaults."""
    preprocessor = dict(model_cfg.get('data_preprocessor') or dict(type='ImageTextDataPreprocessor'))
    preprocessor.update(mean=model.data_preprocessor.mean.flatten().tolist(),
                        std=model.data_preprocessor.std.flatten().tolist())
    return preprocessor


def to_json(manifest: dict) -> str:
    try:
        return json.dumps(manifest, indent=2)
    except TypeError as error:  # e.g. a class object where configs usually hold a type name
        raise ExportError(f'the model config or test pipeline holds a value JSON cannot store: {error}') from error


def export_model(cfg: Config, checkpoint: str, out_dir: str) -> dict:
    """Write the export of ``checkpoint`` (trained with ``cfg``) into ``out_dir``; returns the manifest."""
    from zerovl.utils.checkpoint import load_from_local
    from zerovl.registry import MODELS

    model_cfg = inference_model_config(cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') else cfg.model)
    pipeline = inference_pipeline(cfg)
    # An export its own reader would refuse (a dotted or unregistered type) is refused now, not when opened.
    check_manifest(dict(model=model_cfg, test_pipeline=pipeline), f'the export of {getattr(cfg, "filename", None)}')
    model = MODELS.build(deepcopy(model_cfg))
    # Safe loading (weights_only): the optimizer state and the message hub are read, then left behind.
    state_dict = without_training_modules(checkpoint_state_dict(load_from_local(checkpoint, 'cpu'), checkpoint))
    load_state_dict_strictly(model, state_dict, checkpoint)
    model_cfg['data_preprocessor'] = with_explicit_normalisation(model_cfg, model)
    os.makedirs(out_dir, exist_ok=True)
    tokenizer = bundle_tokenizer(pipeline, out_dir)
    text_config = bundle_text_config(model, model_cfg, out_dir)
    norm = model_cfg['data_preprocessor']
    manifest = dict(
        format=EXPORT_FORMAT, version=EXPORT_VERSION, weights=WEIGHTS_FILE, model=model_cfg,
        normalisation=dict(mean=norm['mean'], std=norm['std'], scale='0-255, RGB'),
        image_size=image_size_of(pipeline), tokenizer=tokenizer, text_config=text_config, test_pipeline=pipeline,
        source=dict(checkpoint=osp.abspath(checkpoint), config=getattr(cfg, 'filename', None)),
    )
    text = to_json(manifest)
    # Cloned so that tensors sharing storage (tied weights) are written as separate safetensors entries.
    save_safetensors({key: value.detach().clone() for key, value in model.state_dict().items()},
                     osp.join(out_dir, WEIGHTS_FILE))
    write_text_atomically(osp.join(out_dir, MANIFEST_FILE), text)
    return manifest
