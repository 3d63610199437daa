"""Linear probing: a linear classifier on the frozen image tower of a pre-trained dual encoder.

ZeroVL's protocol (method doc §2.9) freezes the image encoder loaded from a pre-training checkpoint
and trains one ``nn.Linear`` on its pooled feature (before the projection to the shared embedding
space). MAE's variant puts a BatchNorm without affine parameters in front of the head
(``neck=dict(type='BatchNormNeck')``); ZeroVL's does not (``neck=None``).
"""
import logging
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from mmengine.runner import CheckpointLoader
from torch import nn

from zerovl.registry import MODELS
from zerovl.utils.checkpoint import register_safe_loader
from zerovl.utils.state_dict_fit import load_state_dict_strictly

DEFAULT_PREFIX = 'image_tower.'


@MODELS.register_module()
class BatchNormNeck(nn.Module):
    """BatchNorm1d without affine parameters (MAE's linear-probe normaliser).

    It only standardises each feature with batch statistics (running ones at evaluation), which makes
    the head's learning rate independent of the tower's feature scale; being affine-free it adds no
    parameters, so the probe stays a linear classifier of the frozen feature.
    """

    def __init__(self, in_dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(in_dim, affine=False, eps=eps)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.bn(features)


def state_dict_of(checkpoint) -> Dict[str, torch.Tensor]:
    """The model weights of an MMEngine checkpoint (``{'state_dict': ...}``) or of a bare state dict."""
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get('state_dict'), dict):
        return checkpoint['state_dict']
    return checkpoint


def load_tower_checkpoint(tower: nn.Module, checkpoint: str, prefix: str = DEFAULT_PREFIX) -> None:
    """Load the weights under ``prefix`` of ``checkpoint`` into ``tower``, strictly, and nothing else.

    A dual-encoder checkpoint holds both towers, both projections and the loss's temperature; only the
    image tower's weights (``image_tower.model.*``) define the feature that is probed.
    """
    # Local files load through zerovl's weights-only loader (zerovl/utils/checkpoint.py), so a checkpoint
    # cannot run code; other schemes (URLs) keep MMEngine's loaders.
    register_safe_loader()

    state = state_dict_of(CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu'))
    if not isinstance(state, dict):
        raise ValueError(f'linear probe: checkpoint {checkpoint} holds no state dict')
    # DDP-wrapped models saved without unwrapping carry 'module.' in front of every key.
    wrapped = 'module.' + prefix
    if not any(key.startswith(prefix) for key in state) and any(key.startswith(wrapped) for key in state):
        prefix = wrapped
    tower_state = {key[len(prefix):]: value for key, value in state.items() if key.startswith(prefix)}
    if not tower_state:
        sample = ', '.join(list(state)[:5])
        raise KeyError(f'linear probe: no key of checkpoint {checkpoint} starts with {prefix!r} (its keys '
                       f'begin: {sample}); set model.pretrained.prefix to the image tower\'s prefix')
    load_state_dict_strictly(tower, tower_state, f'linear probe: the weights under {prefix!r} in {checkpoint}',
                             hint='Is model.image_tower the pre-training one?')


@MODELS.register_module()
class LinearProbeClassifier(BaseModel):
    """Frozen image tower -> optional neck -> linear head, trained with cross-entropy.

    Args:
        image_tower: config of a registered tower exposing ``out_dim`` (e.g. ``TimmImageTower``); its
            output, the pooled feature, is what the head classifies.
        num_classes: width of the head.
        neck: None (ZeroVL) or ``dict(type='BatchNormNeck')`` (MAE); ``in_dim`` is filled in.
        pretrained: ``dict(checkpoint=PATH, prefix='image_tower.')`` loads the tower from a zerovl
            dual-encoder checkpoint; None keeps the tower's own initialisation (random, or its timm
            weights), e.g. as a baseline.
        head_init_std: standard deviation of the head's truncated-normal weight init (MAE: 0.01); the
            bias starts at zero.
        data_preprocessor: normalises the image batch on the device (as in pre-training).

    The tower never trains: its parameters have ``requires_grad=False``, it stays in eval mode when the
    model is put in train mode (BatchNorm statistics and dropout are those of the checkpoint) and its
    features are computed under ``no_grad``.

    ``forward(inputs, data_samples, mode)``: ``'loss'`` -> ``dict(loss=cross-entropy)``; ``'predict'`` ->
    one dict per sample, its data sample plus ``pred_score`` (softmax, a (C,) CPU tensor), the input of
    :class:`zerovl.evaluation.ClassificationAccuracy`; ``'tensor'`` -> the (B, C) logits.
    """

    def __init__(self,
                 image_tower: dict,
                 num_classes: int,
                 neck: Optional[dict] = None,
                 pretrained: Optional[dict] = None,
                 head_init_std: float = 0.01,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        # Built here with zerovl's registry: BaseModel would look the type up in MMEngine's root.
        data_preprocessor = MODELS.build(data_preprocessor or dict(type='ImageTextDataPreprocessor'))
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f'model.num_classes must be an int >= 2, got {num_classes!r}')
        self.image_tower = MODELS.build(image_tower)
        if pretrained and pretrained.get('checkpoint'):
            load_tower_checkpoint(self.image_tower, pretrained['checkpoint'],
                                  pretrained.get('prefix', DEFAULT_PREFIX))
        else:
            # Legitimate for a baseline, but a forgotten checkpoint would otherwise go unnoticed.
            print_log('LinearProbeClassifier: no model.pretrained.checkpoint given, probing the image tower '
                      'as built (random init unless the tower loads its own weights)', logger='current',
                      level=logging.WARNING)
        self._freeze_tower()
        feature_dim = self.image_tower.out_dim
        self.neck = MODELS.build(dict(neck, in_dim=feature_dim)) if neck else nn.Identity()
        self.head = nn.Linear(feature_dim, num_classes)
        nn.init.trunc_normal_(self.head.weight, std=head_init_std)
        nn.init.zeros_(self.head.bias)
        self.num_classes = num_classes

    # ------------------------------------------------------------------------------- the frozen tower
    def _freeze_tower(self) -> None:
        for param in self.image_tower.parameters():
            param.requires_grad_(False)
        self.image_tower.eval()

    def train(self, mode: bool = True):
        super().train(mode)
        self.image_tower.eval()  # the Runner puts the whole model in train mode every epoch
        return self

    def extract_feat(self, images: torch.Tensor) -> torch.Tensor:
        """The tower's pooled feature, without building a graph through the tower."""
        with torch.no_grad():
            return self.image_tower(images)

    # ------------------------------------------------------------------------------ MMEngine API
    def forward(self, inputs: dict, data_samples: Optional[List[dict]] = None, mode: str = 'tensor'):
        if mode not in ('loss', 'predict', 'tensor'):
            raise ValueError(f'LinearProbeClassifier.forward: unknown mode {mode!r} (loss, predict or tensor)')
        logits = self.head(self.neck(self.extract_feat(inputs['images'])))
        if mode == 'tensor':
            return logits
        if mode == 'loss':
            return dict(loss=F.cross_entropy(logits.float(), self.labels_of(data_samples, logits.device)))
        return self.predict(logits, data_samples)

    @staticmethod
    def labels_of(data_samples: Optional[List[dict]], device: torch.device) -> torch.Tensor:
        if not data_samples or any('gt_label' not in sample for sample in data_samples):
            raise KeyError("LinearProbeClassifier: mode='loss' needs a gt_label in every data sample "
                           '(pack samples with PackImageLabel)')
        return torch.tensor([int(sample['gt_label']) for sample in data_samples], dtype=torch.long, device=device)

    @staticmethod
    def predict(logits: torch.Tensor, data_samples: Optional[List[dict]]) -> List[dict]:
        data_samples = data_samples or [{} for _ in range(len(logits))]
        scores = logits.detach().float().softmax(dim=1).cpu()
        return [dict(sample, pred_score=score) for sample, score in zip(data_samples, scores)]

    def train_step(self, data: dict, optim_wrapper: OptimWrapper, ddp: Optional[nn.Module] = None) -> dict:
        """One optimizer step; ``ddp`` is the DistributedDataParallel wrapper when there is one (zerovl's
        wrapper hands the step to the model), and the forward goes through it so its hooks see it."""
        forward_module = ddp if ddp is not None else self
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
        with optim_wrapper.optim_context(forward_module):
            losses = forward_module(**data, mode='loss')
        loss, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(loss)
        return log_vars
