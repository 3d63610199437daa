"""Text tower: any Hugging Face ``AutoModel`` encoder, pooled to one vector per caption."""
from typing import Optional

import torch
from torch import nn
from transformers import AutoConfig, AutoModel

from zerovl.registry import MODELS
from .freezing import FreezableTower

POOLINGS = ('cls', 'mean')


@MODELS.register_module()
class HFTextTower(FreezableTower):
    """Wraps a ``transformers`` encoder (BERT, RoBERTa, MiniLM, ...).

    Args:
        model_name_or_path: a hub name (``'bert-base-uncased'``) or a local directory.
        pretrained: load the weights; otherwise build the architecture with random init.
        config: architecture overrides, e.g. ``dict(model_type='bert', hidden_size=128)``. With
            ``model_type`` and no name the config is built offline by ``AutoConfig.for_model``.
        pooling: ``'cls'`` takes the first token of the last layer (ZeroVL: BERT's [CLS] without the
            pooler); ``'mean'`` averages the last layer over the attention mask (sentence-transformers).
        freeze / grad_checkpointing: as for the image tower.
    """

    def __init__(self,
                 model_name_or_path: Optional[str] = None,
                 pretrained: bool = True,
                 config: Optional[dict] = None,
                 pooling: str = 'cls',
                 freeze: bool = False,
                 grad_checkpointing: bool = False):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f'text tower pooling must be one of {POOLINGS}, got {pooling!r}')
        self.pooling = pooling
        self.model = build_hf_encoder(model_name_or_path, pretrained, config or {})
        # The pooler is unused (ZeroVL pools [CLS] itself); dropping it keeps DDP from waiting for
        # gradients that never come.
        if getattr(self.model, 'pooler', None) is not None:
            self.model.pooler = None
        self.out_dim = self.model.config.hidden_size
        if grad_checkpointing:
            self.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=dict(use_reentrant=False))
        if freeze:
            self.freeze()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.pooling == 'cls':
            return hidden[:, 0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)


def build_hf_encoder(model_name_or_path: Optional[str], pretrained: bool, config: dict) -> nn.Module:
    """Build the encoder from a name/path (weights or config) or offline from ``config['model_type']``."""
    config = dict(config)
    if pretrained:
        if model_name_or_path is None:
            raise ValueError('text tower: pretrained=True needs model_name_or_path')
        return AutoModel.from_pretrained(model_name_or_path, **config)
    if model_name_or_path is not None:
        hf_config = AutoConfig.from_pretrained(model_name_or_path, **config)
    elif 'model_type' in config:
        hf_config = AutoConfig.for_model(config.pop('model_type'), **config)
    else:
        raise ValueError('text tower: give model_name_or_path, or config=dict(model_type=...) '
                         'to build a randomly initialised encoder offline')
    return AutoModel.from_config(hf_config)
