"""Write a zerovl dual encoder as an open_clip model folder, loaded by stock open_clip:

    model, _, preprocess = open_clip.create_model_and_transforms('local-dir:OUT_DIR')
    tokenizer = open_clip.get_tokenizer('local-dir:OUT_DIR')

OUT_DIR holds ``open_clip_config.json`` (``model_cfg``: open_clip's timm image tower and Hugging Face text
tower, ``preprocess_cfg``: its image transform), ``open_clip_model.safetensors``, and the text tower's
Hugging Face config and tokenizer files, which open_clip's text tower and tokenizer read from that folder.

Our towers are what open_clip's configs describe, one to one:

=============================================  ===============================================================
zerovl                                         open_clip
=============================================  ===============================================================
TimmImageTower(model_name) + LinearProjection  ``TimmModel``: ``timm_model_name``, timm's own pooling
                                               (``timm_pool=''``), ``timm_proj='linear'`` without bias
HFTextTower(pooling='cls' / 'mean')            ``HFTextEncoder``: ``hf_pooler_type`` ``cls_last_hidden_state_
+ LinearProjection                             pooler`` / ``mean_pooler``, ``hf_proj_type='linear'``
the loss's temperature τ                       ``logit_scale = log(1 / τ)``
data preprocessor mean/std (0-255)             ``preprocess_cfg`` mean/std (0-1)
ResizeImage(S) (pillow)                        ``resize_mode='squash'``, size S
ResizeImage(S, keep_ratio=True) + CenterCrop(S)  ``resize_mode='shortest'``, size S
=============================================  ===============================================================

Anything else has no exact counterpart and is refused with :class:`ExportError` naming it: an MLP head,
the pre-logits layer, other timm keyword arguments than ``drop_path_rate``, a text model type open_clip
does not know, OpenCV resizing, or ZeroVL's resize-then-crop (``ResizeImage(256)`` + ``CenterCrop(224)``:
open_clip squashes or crops, never both). ``nearest_preprocess=True`` exports that last one with open_clip's
nearest transform (squash to the crop size) and records it; the model itself is always exact.

open_clip reads the text tower's config by path (``hf_model_name``), so the folder's absolute path is
written into the config: after moving the folder, export again (or edit ``hf_model_name`` and
``hf_tokenizer_name``).
"""
import json
import math
import os
import os.path as osp
from typing import List, Optional, Tuple

import torch

from zerovl.utils.atomic_file import write_text_atomically
from zerovl.utils.safetensors_file import save_safetensors
from .export import image_size_of, type_name
from .exported import ExportError

OPEN_CLIP_CONFIG = 'open_clip_config.json'
OPEN_CLIP_WEIGHTS = 'open_clip_model.safetensors'  # the name open_clip's local-dir loader looks for first
POOLERS = {'cls': 'cls_last_hidden_state_pooler', 'mean': 'mean_pooler'}
# TimmImageTower arguments that do not change the network (or its eval-mode output) or that open_clip maps.
TIMM_TOWER_KEYS = ('type', 'model_name', 'pretrained', 'checkpoint', 'freeze', 'grad_checkpointing', 'compile',
                   'drop_path_rate')
INTERPOLATIONS = ('bicubic', 'bilinear')  # the two open_clip's inference transform knows
# Steps that do not touch the pixels of a decoded image.
NON_IMAGE_STEPS = ('LoadImageFromFile', 'Tokenize', 'CaptionAugment', 'PackImageTextInputs', 'PackImageLabel')


def refuse(what: str) -> None:
    raise ExportError(f'not exportable to open_clip: {what}')


# --------------------------------------------------------------------------------------------- towers
def vision_cfg(model_cfg: dict, image_size: int) -> dict:
    tower = model_cfg['image_tower']
    if type_name(tower) != 'TimmImageTower':
        refuse(f'model.image_tower.type={tower.get("type")!r}; open_clip wraps timm models (TimmImageTower)')
    if tower.get('pre_logits_dim') is not None:
        refuse('model.image_tower.pre_logits_dim: old timm\'s tanh pre-logits layer has no open_clip counterpart')
    unknown = sorted(set(tower) - set(TIMM_TOWER_KEYS) - {'pre_logits_dim'})
    if unknown:
        refuse(f'model.image_tower keys {unknown}: open_clip builds the timm model from its name alone '
               '(and drop_path_rate)')
    cfg = dict(timm_model_name=tower['model_name'], timm_model_pretrained=False,
               timm_pool='',  # '' keeps the network's own pooling, which TimmImageTower uses (num_classes=0)
               timm_proj='linear', timm_proj_bias=False, image_size=image_size)
    if tower.get('drop_path_rate') is not None:
        cfg['timm_drop_path'] = tower['drop_path_rate']
    return cfg


def text_cfg(model, model_cfg: dict, folder: str, max_length: int) -> dict:
    tower = model_cfg['text_tower']
    if type_name(tower) != 'HFTextTower':
        refuse(f'model.text_tower.type={tower.get("type")!r}; open_clip wraps Hugging Face models (HFTextTower)')
    from open_clip.hf_configs import arch_dict
    model_type = model.text_tower.model.config.model_type
    if model_type not in arch_dict:
        refuse(f'the text tower is a {model_type!r} model; open_clip\'s HFTextEncoder knows {sorted(arch_dict)}')
    return dict(hf_model_name=folder, hf_tokenizer_name=folder, hf_model_pretrained=False, hf_proj_type='linear',
                hf_pooler_type=POOLERS[model.text_tower.pooling], context_length=max_length)


def check_heads(model_cfg: dict) -> None:
    projection = model_cfg.get('projection') or dict(type='LinearProjection')
    if type_name(projection) != 'LinearProjection':
        refuse(f'model.projection.type={projection.get("type")!r}; open_clip\'s heads are one bias-free linear '
               'layer (LinearProjection) here; its "mlp" heads are another network')


def check_padding(model, tokenizer) -> None:
    """open_clip masks the tokens equal to the config's pad id, where we use the tokenizer's attention mask:
    the same positions only if both name the same pad token."""
    config_pad = model.text_tower.model.config.pad_token_id
    if tokenizer.pad_token_id != config_pad:
        refuse(f'the tokenizer pads with id {tokenizer.pad_token_id} and the text model config says '
               f'pad_token_id={config_pad}; open_clip derives the attention mask from the latter')


# ------------------------------------------------------------------------------------------ preprocess
def resize_steps(pipeline: List[dict]) -> List[dict]:
    steps = [step for step in pipeline if type_name(step) not in NON_IMAGE_STEPS]
    for step in steps:
        if type_name(step) == 'ResizeImage':
            backend, interpolation = step.get('backend', 'pillow'), step.get('interpolation', 'bicubic')
            if backend != 'pillow' or interpolation not in INTERPOLATIONS:
                refuse(f'the test pipeline resizes with {backend} {interpolation}; open_clip resizes PIL images '
                       f'with {INTERPOLATIONS}, so only ResizeImage(backend="pillow") with those matches it')
    return steps


def preprocess_mode(pipeline: List[dict], nearest: bool) -> Tuple[str, int, str, str]:
    """(resize_mode, size, interpolation, how exact) of open_clip's transform for the test pipeline."""
    steps = resize_steps(pipeline)
    names = [type_name(step) for step in steps]
    if names == ['ResizeImage'] and not steps[0].get('keep_ratio', False):
        return 'squash', steps[0]['size'], steps[0].get('interpolation', 'bicubic'), 'exact'
    if (names == ['ResizeImage', 'CenterCrop'] and steps[0].get('keep_ratio', False)
            and steps[0]['size'] == steps[1]['size']):
        return 'shortest', steps[1]['size'], steps[0].get('interpolation', 'bicubic'), 'exact'
    if nearest and names == ['ResizeImage', 'CenterCrop']:
        return ('squash', steps[1]['size'], steps[0].get('interpolation', 'bicubic'),
                f'nearest: open_clip squashes to {steps[1]["size"]}, the test pipeline resized to '
                f'{steps[0]["size"]} then cropped the centre {steps[1]["size"]}')
    refuse(f'the test pipeline\'s image steps {names} ({steps}) are none of open_clip\'s transforms (squash; '
           'shorter side + centre crop of the same size), so the same image would be embedded from other pixels. '
           'Pass nearest_preprocess=True (--nearest-preprocess) to export a resize-then-crop pipeline with '
           'open_clip\'s nearest transform')


def preprocess_cfg(pipeline: List[dict], mean: List[float], std: List[float], nearest: bool) -> Tuple[dict, str]:
    mode, size, interpolation, exactness = preprocess_mode(pipeline, nearest)
    return (dict(size=size, mode='RGB', mean=[value / 255 for value in mean], std=[value / 255 for value in std],
                 interpolation=interpolation, resize_mode=mode), exactness)


# ------------------------------------------------------------------------------------------ weights
def open_clip_state_dict(model) -> dict:
    """Our weights under open_clip's names, plus ``logit_scale``; a key of no known part is an error."""
    renames = (('image_tower.model.', 'visual.trunk.'), ('image_projection.', 'visual.head.proj.'),
               ('text_tower.model.', 'text.transformer.'), ('text_projection.', 'text.proj.'))
    dropped = ('loss_module.', 'data_preprocessor.', 'mixup.')  # τ becomes logit_scale; mean/std preprocess_cfg
    state_dict = {}
    for key, value in model.state_dict().items():
        target = next((new + key[len(old):] for old, new in renames if key.startswith(old)), None)
        if target is None and not key.startswith(dropped):
            refuse(f'the model has a tensor {key!r} that no open_clip part holds')
        if target is not None:
            state_dict[target] = value.detach().clone()
    temperature = float(model.loss_module.temperature())
    state_dict['logit_scale'] = torch.tensor(math.log(1 / temperature))
    return state_dict


def export_open_clip(loaded, out_dir: str, nearest_preprocess: bool = False,
                     source: Optional[dict] = None) -> dict:
    """Write ``loaded`` (a :class:`zerovl.apis.create.LoadedModel`) into ``out_dir`` as an open_clip model
    folder; returns the written ``open_clip_config.json`` content."""
    from zerovl.datasets.transforms.tokenize import find_tokenize
    from .export import check_dual_encoder
    from .preprocess import build_transforms
    model, model_cfg, pipeline = loaded.model, loaded.model_cfg, loaded.test_pipeline
    check_dual_encoder(model_cfg)
    check_heads(model_cfg)
    tokenize = find_tokenize(build_transforms(pipeline))
    check_padding(model, tokenize.tokenizer)
    folder = osp.abspath(out_dir)
    mean = model.data_preprocessor.mean.flatten().tolist()
    std = model.data_preprocessor.std.flatten().tolist()
    preprocess, exactness = preprocess_cfg(pipeline, mean, std, nearest_preprocess)
    if exactness == 'exact' and image_size_of(pipeline) != [preprocess['size']] * 2:  # a defensive cross-check
        refuse(f'the test pipeline makes {image_size_of(pipeline)} images, not {preprocess["size"]} squares')
    config = dict(
        model_cfg=dict(embed_dim=model.embed_dim, vision_cfg=vision_cfg(model_cfg, preprocess['size']),
                       text_cfg=text_cfg(model, model_cfg, folder, tokenize.max_length)),
        preprocess_cfg=preprocess,
        zerovl=dict(preprocess=exactness, source=source or {}))
    state_dict = open_clip_state_dict(model)  # before writing anything: a refusal leaves no half folder
    os.makedirs(folder, exist_ok=True)
    model.text_tower.model.config.save_pretrained(folder)
    tokenize.tokenizer.save_pretrained(folder)
    save_safetensors(state_dict, osp.join(folder, OPEN_CLIP_WEIGHTS))
    write_text_atomically(osp.join(folder, OPEN_CLIP_CONFIG), json.dumps(config, indent=2))
    return config
