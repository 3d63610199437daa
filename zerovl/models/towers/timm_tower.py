"""Image tower: any timm model, returning its pooled feature."""
from collections import OrderedDict
from typing import Optional, Union

import timm
import torch
from torch import nn

from zerovl.registry import MODELS
from .compiling import compile_in_place
from .freezing import FreezableTower, freeze_module


@MODELS.register_module()
class TimmImageTower(FreezableTower):
    """Wraps ``timm.create_model(model_name, num_classes=0)``: the classifier is dropped and the output
    is the pooled feature (the CLS token for ViTs, global average pooling for CNNs).

    Args:
        model_name: any timm name, e.g. ``'vit_base_patch16_224.augreg_in21k'`` or ``'resnet50'``.
        pretrained: load the hub weights of ``model_name`` (needs the network or a warm HF cache).
        checkpoint: a local weight file to load instead of the hub (offline); implies pretrained.
        freeze: keep the tower fixed (no gradients, eval mode).
        grad_checkpointing: trade compute for activation memory (timm's ``set_grad_checkpointing``).
        pre_logits_dim: add old timm's ViT "pre-logits" layer, ``tanh(Linear(feature))`` of this width, on
            the pooled feature. timm of the PyTorch-1.8 era built ``vit_*_in21k`` with it, so ZeroVL's
            released image features went through it (docs/method.md §6 item 5); timm >= 0.9 no longer
            has it, and the checkpoint converter needs it to reproduce those features. None: no layer.
        compile: ``True`` (or a dict of ``torch.compile`` arguments) compiles the timm model in place with
            static shapes; same parameter names, so checkpoints are unchanged. Off by default: the first
            step then pays the compilation (tens of seconds), which a short run does not win back.
        **model_kwargs: passed to ``timm.create_model`` (``img_size``, ``drop_path_rate``, ...).
    """

    def __init__(self,
                 model_name: str,
                 pretrained: bool = False,
                 checkpoint: Optional[str] = None,
                 freeze: bool = False,
                 grad_checkpointing: bool = False,
                 pre_logits_dim: Optional[int] = None,
                 compile: Union[bool, dict] = False,
                 **model_kwargs):
        super().__init__()
        overlay = dict(file=checkpoint) if checkpoint else None
        self.model = timm.create_model(
            model_name,
            pretrained=pretrained or checkpoint is not None,
            pretrained_cfg_overlay=overlay,
            num_classes=0,
            **model_kwargs)
        # ``head_hidden_size`` is the pooled width when a model has a pre-logits layer (timm >= 1.0).
        self.out_dim = getattr(self.model, 'head_hidden_size', None) or self.model.num_features
        self.pre_logits = None
        if pre_logits_dim is not None:
            # Named fc/act as in old timm, so converted weights keep their key suffix.
            self.pre_logits = nn.Sequential(OrderedDict(
                fc=nn.Linear(self.out_dim, pre_logits_dim), act=nn.Tanh()))
            self.out_dim = pre_logits_dim
        if grad_checkpointing:
            self.model.set_grad_checkpointing(True)
        if freeze:
            self.freeze()
        compile_in_place(self.model, compile, 'model.image_tower.compile')

    @property
    def fused_attention(self) -> Optional[bool]:
        """Whether every attention layer calls ``F.scaled_dot_product_attention`` (timm decides per layer
        at build, from ``timm.layers.use_fused_attn()``: on unless ``TIMM_FUSED_ATTN=0`` or export mode);
        None for a model without attention layers (a CNN)."""
        flags = [module.fused_attn for module in self.model.modules() if hasattr(module, 'fused_attn')]
        return all(flags) if flags else None

    def freeze(self) -> None:
        super().freeze()
        if self.pre_logits is not None:
            freeze_module(self.pre_logits)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.model(images)
        return features if self.pre_logits is None else self.pre_logits(features)
