"""Read an exported zerovl model: a folder that rebuilds a dual encoder without the training stack.

    EXPORT_DIR/
      zerovl_model.json     what to build: model config, test-time pipeline and image size, tokenizer,
                            normalisation
      model.safetensors     the weights, nothing else (no optimizer, no pickle)
      tokenizer/            the tokenizer files, when the config named local ones
      text_config/          the Hugging Face config of the text tower, so no hub access is needed

Loading needs neither a Runner nor ``torch.load``: the weights are safetensors and the manifest is JSON,
so opening an export cannot run code hidden in a file. What the JSON names is checked before it is built
(:mod:`zerovl.apis.manifest_checks`): only zerovl's registered types, no remote code, no outside weights.
"""
import json
import os.path as osp
from copy import deepcopy
from dataclasses import dataclass
from typing import List

import torch

MANIFEST_FILE = 'zerovl_model.json'
WEIGHTS_FILE = 'model.safetensors'
TOKENIZER_DIR = 'tokenizer'
TEXT_CONFIG_DIR = 'text_config'
EXPORT_FORMAT = 'zerovl-export'
EXPORT_VERSION = 1
REQUIRED_FIELDS = ('format', 'version', 'weights', 'model', 'test_pipeline', 'tokenizer')


class ExportError(ValueError):
    """An export folder, or the checkpoint and config being exported, is unusable; the message says why."""


@dataclass
class ExportedModel:
    model: torch.nn.Module       # in eval mode
    test_pipeline: List[dict]    # transform configs, with bundled files resolved to absolute paths
    manifest: dict
    folder: str


def read_manifest(folder: str) -> dict:
    path = osp.join(folder, MANIFEST_FILE)
    if not osp.isfile(path):
        raise ExportError(f'{folder} is not a zerovl export: {MANIFEST_FILE} is missing '
                          '(write one with tools/model_converters/export.py)')
    try:
        with open(path, encoding='utf-8') as f:
            manifest = json.load(f)
    except json.JSONDecodeError as error:
        raise ExportError(f'{path} is not valid JSON: {error}') from error
    missing = [key for key in REQUIRED_FIELDS if key not in manifest]
    if missing:
        raise ExportError(f'{path} lacks {missing}')
    if manifest['format'] != EXPORT_FORMAT or manifest['version'] != EXPORT_VERSION:
        raise ExportError(f'{path}: format {manifest["format"]!r} version {manifest["version"]!r}; this zerovl '
                          f'reads {EXPORT_FORMAT!r} version {EXPORT_VERSION}')
    # Before anything it names is imported or built: only zerovl's registered types, no remote code.
    from .manifest_checks import check_manifest
    check_manifest(manifest, path)
    return manifest


def bundled(folder: str, relative: str) -> str:
    return osp.normpath(osp.join(folder, relative))


def resolve_model_config(manifest: dict, folder: str) -> dict:
    model_cfg = deepcopy(manifest['model'])
    if manifest.get('text_config'):
        model_cfg['text_tower']['model_name_or_path'] = bundled(folder, manifest['text_config'])
    return model_cfg


def resolve_pipeline(manifest: dict, folder: str) -> List[dict]:
    """The test pipeline with a bundled tokenizer pointed at this folder's copy."""
    pipeline = deepcopy(manifest['test_pipeline'])
    tokenizer = manifest['tokenizer']
    if tokenizer.get('bundled'):
        for step in pipeline:
            if 'tokenizer' in step:
                step['tokenizer'] = bundled(folder, tokenizer['name_or_path'])
    return pipeline


def load_state_dict_strictly(model: torch.nn.Module, state_dict: dict, source: str) -> None:
    """``load_state_dict(strict=True)``; a misfit is an :class:`ExportError` listing the keys (the shared
    check of :mod:`zerovl.utils.state_dict_fit`)."""
    from zerovl.utils.state_dict_fit import StateDictMismatchError
    from zerovl.utils.state_dict_fit import load_state_dict_strictly as load_fitting
    try:
        load_fitting(model, state_dict, source)
    except StateDictMismatchError as error:
        raise ExportError(str(error)) from None


def load_exported(folder: str, device: str = 'cpu') -> ExportedModel:
    """The model of an export folder with its weights, in eval mode on ``device``."""
    from safetensors.torch import load_file

    import zerovl.datasets  # noqa: F401  registers the transforms the pipeline names
    from zerovl.registry import MODELS
    manifest = read_manifest(folder)
    weights = osp.join(folder, manifest['weights'])
    if not osp.isfile(weights):
        raise ExportError(f'{weights} (named by {MANIFEST_FILE}) does not exist')
    model = MODELS.build(resolve_model_config(manifest, folder))
    load_state_dict_strictly(model, load_file(weights, device='cpu'), weights)
    return ExportedModel(model=model.to(device).eval(), test_pipeline=resolve_pipeline(manifest, folder),
                         manifest=manifest, folder=folder)
