"""Text tower: any Hugging Face ``AutoModel`` encoder, pooled to one vector per caption."""
from typing import Optional, Union

import torch
from torch import nn
from transformers import AutoConfig, AutoModel

from zerovl.registry import MODELS
from .compiling import compile_in_place
from .freezing import FreezableTower

POOLINGS = ('cls', 'mean')
ATTN_IMPLEMENTATIONS = ('sdpa', 'eager')


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
        freeze / grad_checkpointing / compile: as for the image tower.
        attn_implementation: ``'sdpa'`` (default) runs attention through
            ``F.scaled_dot_product_attention`` (flash / memory-efficient kernels on a GPU); ``'eager'`` is
            transformers' matmul-softmax-matmul; same result (tests/test_models/test_speed_switches.py).
    """

    def __init__(self,
                 model_name_or_path: Optional[str] = None,
                 pretrained: bool = True,
                 config: Optional[dict] = None,
                 pooling: str = 'cls',
                 freeze: bool = False,
                 grad_checkpointing: bool = False,
                 attn_implementation: str = 'sdpa',
                 compile: Union[bool, dict] = False):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f'text tower pooling must be one of {POOLINGS}, got {pooling!r}')
        self.pooling = pooling
        self.model = build_hf_encoder(model_name_or_path, pretrained, config or {}, attn_implementation)
        # The pooler is unused (ZeroVL pools [CLS] itself); dropping it keeps DDP from waiting for
        # gradients that never come.
        if getattr(self.model, 'pooler', None) is not None:
            self.model.pooler = None
        self.out_dim = self.model.config.hidden_size
        if grad_checkpointing:
            self.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=dict(use_reentrant=False))
        if freeze:
            self.freeze()
        compile_in_place(self.model, compile, 'model.text_tower.compile')

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        output = self.model(input_ids=input_ids, attention_mask=self.encoder_mask(attention_mask))
        hidden = output.last_hidden_state
        if self.pooling == 'cls':
            return hidden[:, 0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)

    def encoder_mask(self, attention_mask: torch.Tensor) -> torch.Tensor:
        """The mask handed to the encoder: for SDPA, already in its boolean (B, 1, 1, L) form.

        From a 2D mask, transformers' SDPA path first asks ``padding_mask.all()`` to drop the mask when
        nothing is padded: a host synchronisation in every forward, twice per DGA sub-batch. A 4D mask is
        used as given, so nothing waits; captions padded to a fixed length need the mask anyway.
        """
        if self.model.config._attn_implementation != 'sdpa' or attention_mask.dim() != 2:
            return attention_mask
        return attention_mask.bool()[:, None, None, :]


def build_hf_encoder(model_name_or_path: Optional[str], pretrained: bool, config: dict,
                     attn_implementation: str = 'sdpa') -> nn.Module:
    """Build the encoder from a name/path (weights or config) or offline from ``config['model_type']``."""
    config = dict(config)
    if attn_implementation not in ATTN_IMPLEMENTATIONS:
        raise ValueError(f'model.text_tower.attn_implementation must be one of {ATTN_IMPLEMENTATIONS}, '
                         f'got {attn_implementation!r}')
    if pretrained:
        if model_name_or_path is None:
            raise ValueError('text tower: pretrained=True needs model_name_or_path')
        return AutoModel.from_pretrained(model_name_or_path, attn_implementation=attn_implementation,
                                         **config)
    if model_name_or_path is not None:
        hf_config = AutoConfig.from_pretrained(model_name_or_path, **config)
    elif 'model_type' in config:
        hf_config = AutoConfig.for_model(config.pop('model_type'), **config)
    else:
        raise ValueError('text tower: give model_name_or_path, or config=dict(model_type=...) '
                         'to build a randomly initialised encoder offline')
    return AutoModel.from_config(hf_config, attn_implementation=attn_implementation)
