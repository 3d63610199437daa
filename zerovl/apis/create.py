"""One call from a config, a config name or an export folder to a model ready to embed, as
``open_clip.create_model_and_transforms`` does for open_clip:

    model, preprocess, tokenizer = zerovl.create_model('zerovl_demo', 'work_dirs/zerovl_demo/epoch_6.pth')
    model, preprocess, tokenizer = zerovl.create_model('work_dirs/zerovl_demo_export')
    image_embeds = model.encode_image(torch.stack([preprocess(image) for image in images]))
    text_embeds = model.encode_text(**tokenizer(['a red circle']))

``config_or_export`` is an export folder (tools/model_converters/export.py; no checkpoint then), a config
file, or a name from :func:`zerovl.list_models`. With a checkpoint, the towers are built without their
pre-trained weight sources (the checkpoint replaces them, so nothing is downloaded) and the weights must
fit exactly; without one, the config's model is built as the config says (pre-trained towers included).
"""
import os.path as osp
from copy import deepcopy
from dataclasses import dataclass
from typing import List, Optional, Tuple

import torch

from .exported import MANIFEST_FILE, ExportError, load_exported, load_state_dict_strictly, resolve_model_config
from .preprocess import ImagePreprocess, TextTokenizer, build_transforms


@dataclass
class LoadedModel:
    model: torch.nn.Module   # in eval mode, on the device asked for
    model_cfg: dict          # the config it was built from (an export's with its bundled paths resolved)
    test_pipeline: List[dict]


def is_export(path: str) -> bool:
    return osp.isdir(path) and osp.isfile(osp.join(path, MANIFEST_FILE))


def config_file_of(config_or_export: str) -> str:
    if osp.isfile(config_or_export):
        return config_or_export
    if osp.isdir(config_or_export):
        raise ExportError(f'{config_or_export} is a folder without {MANIFEST_FILE}: not a zerovl export '
                          '(write one with tools/model_converters/export.py)')
    if config_or_export.endswith('.py'):
        raise FileNotFoundError(f'config {config_or_export} does not exist')
    from .model_names import model_config_path
    return model_config_path(config_or_export)


def checkpoint_weights(checkpoint: str) -> dict:
    """The model weights of an MMEngine checkpoint (loaded safely) or of a safetensors file."""
    from .export import checkpoint_state_dict, without_training_modules
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
    if checkpoint.endswith('.safetensors'):
        from safetensors.torch import load_file
        loaded = load_file(checkpoint, device='cpu')
    else:
        from zerovl.utils.checkpoint import load_from_local
        loaded = load_from_local(checkpoint, 'cpu')
    return without_training_modules(checkpoint_state_dict(loaded, checkpoint))


def load_from_config(config_file: str, checkpoint: Optional[str], cfg_options: Optional[dict]) -> LoadedModel:
    from zerovl.registry import MODELS
    from zerovl.utils import load_config, register_all_modules
    from .export import check_dual_encoder, inference_model_config, inference_pipeline
    register_all_modules()
    cfg = load_config(config_file, cfg_options)
    model_cfg = cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') else dict(cfg.model)
    check_dual_encoder(model_cfg)
    pipeline = inference_pipeline(cfg)
    if checkpoint is None:
        return LoadedModel(MODELS.build(deepcopy(model_cfg)), model_cfg, pipeline)
    model_cfg = inference_model_config(model_cfg)
    model = MODELS.build(deepcopy(model_cfg))
    load_state_dict_strictly(model, checkpoint_weights(checkpoint), checkpoint)
    return LoadedModel(model, model_cfg, pipeline)


def load_model(config_or_export: str, checkpoint: Optional[str] = None, device: str = 'cpu',
               cfg_options: Optional[dict] = None) -> LoadedModel:
    """The model, its config and its test pipeline, from an export folder, a config file or a name."""
    config_or_export = str(config_or_export)
    if is_export(config_or_export):
        if checkpoint is not None or cfg_options:
            raise ExportError(f'{config_or_export} is an export: its weights and config are its own, so it takes '
                              'no checkpoint and no config overrides')
        exported = load_exported(config_or_export, device)
        return LoadedModel(exported.model, resolve_model_config(exported.manifest, exported.folder),
                           exported.test_pipeline)
    loaded = load_from_config(config_file_of(config_or_export), checkpoint, cfg_options)
    loaded.model = loaded.model.to(device).eval()
    return loaded


def preprocessors(loaded: LoadedModel) -> Tuple[ImagePreprocess, TextTokenizer]:
    from zerovl.datasets.transforms.tokenize import find_tokenize
    return (ImagePreprocess(loaded.test_pipeline, loaded.model.data_preprocessor),
            TextTokenizer(find_tokenize(build_transforms(loaded.test_pipeline))))


def create_model(config_or_export: str, checkpoint: Optional[str] = None, device: str = 'cpu',
                 cfg_options: Optional[dict] = None) -> Tuple[torch.nn.Module, ImagePreprocess, TextTokenizer]:
    """``(model, preprocess, tokenizer)``: the dual encoder in eval mode on ``device``, a callable turning one
    image (path, (H, W, 3) uint8 RGB array or PIL image) into the normalised tensor ``model.encode_image``
    takes, and one turning texts into the ``input_ids``/``attention_mask`` ``model.encode_text`` takes."""
    loaded = load_model(config_or_export, checkpoint, device, cfg_options)
    preprocess, tokenizer = preprocessors(loaded)
    return loaded.model, preprocess, tokenizer
