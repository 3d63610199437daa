"""Image tower: any timm model, returning its pooled feature."""
from typing import Optional

import timm
import torch

from zerovl.registry import MODELS
from .freezing import FreezableTower


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
        **model_kwargs: passed to ``timm.create_model`` (``img_size``, ``drop_path_rate``, ...).
    """

    def __init__(self,
                 model_name: str,
                 pretrained: bool = False,
                 checkpoint: Optional[str] = None,
                 freeze: bool = False,
                 grad_checkpointing: bool = False,
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
        if grad_checkpointing:
            self.model.set_grad_checkpointing(True)
        if freeze:
            self.freeze()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images)
