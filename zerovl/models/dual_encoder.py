"""The dual encoder: two towers, two projection heads, one contrastive loss."""
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from torch import nn

from zerovl.registry import MODELS
from zerovl.utils.schema import check_keys, check_registered_keys
from .dga import dga_step
from .heads import l2_normalize
from .mixup import MixDecision, block_reversal, mix_with_reversed

# Every key model.dga understands; any other one (a typo) is refused rather than ignored.
DGA_KEYS = ('sub_batch_size',)


@MODELS.register_module()
class DualEncoder(BaseModel):
    """CLIP-style image-text model trained with ZeroVL's recipe.

    Args:
        image_tower / text_tower: configs of registered towers exposing ``out_dim``.
        embed_dim: width of the shared embedding space (512 in ZeroVL).
        projection: head config; ``in_dim``/``out_dim`` are filled in per tower.
        loss: contrastive loss config: a registered module called as ``loss(image_embeds, text_embeds,
            mix=None)`` with a ``temperature()`` method, logged every step. It owns its parameters (a
            learnable τ, a sigmoid loss's scale and bias), which DGA trains too.
        mixup: e.g. ``dict(type='CoinFlipMixup', beta=0.1)``; None trains without mixup.
        dga: decoupled gradient accumulation, ``dict(sub_batch_size=128)`` (per GPU, like every batch
            size in configs): the per-GPU batch is embedded in sub-batches and the exact large-batch
            gradient is assembled in two passes (``zerovl/models/dga.py``). None: one plain step.
        data_preprocessor: normalises the image batch on the device.

    ``forward(inputs, data_samples, mode)`` follows MMEngine: ``'loss'`` returns the loss dict,
    ``'predict'`` one dict per sample with its L2-normalised ``image_embed`` and ``text_embed``
    (the input of :class:`zerovl.evaluation.RetrievalMetric`), ``'tensor'`` both embedding batches.
    """

    def __init__(self,
                 image_tower: dict,
                 text_tower: dict,
                 embed_dim: int = 512,
                 projection: Optional[dict] = None,
                 loss: Optional[dict] = None,
                 mixup: Optional[dict] = None,
                 dga: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        # Config keys first: a typo is reported before seconds of building towers.
        loss = loss or dict(type='InfoNCELoss')
        check_registered_keys(loss, MODELS, 'model.loss')
        check_registered_keys(mixup, MODELS, 'model.mixup')
        dga = checked_dga(dga)
        # Built here with zerovl's registry: BaseModel would look the type up in MMEngine's root.
        data_preprocessor = MODELS.build(data_preprocessor or dict(type='ImageTextDataPreprocessor'))
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        projection = projection or dict(type='LinearProjection')
        self.image_tower = MODELS.build(image_tower)
        self.text_tower = MODELS.build(text_tower)
        self.image_projection = MODELS.build(dict(projection, in_dim=self.image_tower.out_dim, out_dim=embed_dim))
        self.text_projection = MODELS.build(dict(projection, in_dim=self.text_tower.out_dim, out_dim=embed_dim))
        self.loss_module = MODELS.build(loss)
        self.mixup = MODELS.build(mixup) if mixup else None
        self.dga = dga
        self.embed_dim = embed_dim

    # ----------------------------------------------------------------------------------- embeddings
    def encode_image(self, images: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        embeds = self.image_projection(self.image_tower(images))
        return l2_normalize(embeds) if normalize else embeds

    def encode_text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    normalize: bool = True) -> torch.Tensor:
        embeds = self.text_projection(self.text_tower(input_ids, attention_mask))
        return l2_normalize(embeds) if normalize else embeds

    def embed(self, inputs: dict, mix: Optional[MixDecision] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """L2-normalised embeddings of a (sub-)batch, mixed as ``mix`` says: images on the normalised
        pixels, texts on the projected embedding before L2 normalisation (ZeroVL's manifold mixup).
        The partner of item i is item n-1-i of this call's batch."""
        images = inputs['images']
        if mix is not None and mix.mix_image:
            images = mix_with_reversed(images, mix.lam)
        text = self.encode_text(inputs['input_ids'], inputs['attention_mask'], normalize=False)
        if mix is not None and mix.mix_text:
            text = mix_with_reversed(text, mix.lam)
        return self.encode_image(images), l2_normalize(text)

    # ------------------------------------------------------------------------------ MMEngine API
    def forward(self, inputs: dict, data_samples: Optional[List[dict]] = None, mode: str = 'tensor',
                mix: Optional[MixDecision] = None):
        if mode == 'loss':
            return self.loss(inputs, mix)
        if mode == 'tensor':
            return self.embed(inputs, mix)
        if mode == 'predict':
            return self.predict(*self.embed(inputs), data_samples)
        raise ValueError(f'DualEncoder.forward: unknown mode {mode!r} (loss, predict or tensor)')

    def loss(self, inputs: dict, mix: Optional[MixDecision] = None) -> Dict[str, torch.Tensor]:
        image_embeds, text_embeds = self.embed(inputs, mix)
        return dict(loss=self.contrastive_loss(image_embeds, text_embeds, mix, block=len(image_embeds)),
                    temperature=self.loss_module.temperature().detach())

    def contrastive_loss(self, image_embeds: torch.Tensor, text_embeds: torch.Tensor,
                         mix: Optional[MixDecision], block: int) -> torch.Tensor:
        """The loss with soft targets when mixed; ``block`` is the size of the batches that were
        reversed for mixing (the whole per-rank batch, or a DGA sub-batch)."""
        targets = None
        if mix is not None:
            targets = (mix.target_weight, block_reversal(len(image_embeds), block, image_embeds.device))
        return self.loss_module(image_embeds, text_embeds, mix=targets)

    def train_step(self, data: dict, optim_wrapper: OptimWrapper, ddp: Optional[nn.Module] = None) -> dict:
        """One optimizer step. ``ddp`` is the DistributedDataParallel wrapper when there is one: forwards
        that will be back-propagated go through it so that its gradient hooks see them."""
        forward_module = ddp if ddp is not None else self
        with optim_wrapper.optim_context(self):
            # DGA normalises sub-batch by sub-batch (dga.py); a plain step normalises the batch here.
            data = self.data_preprocessor(data, True, normalize=self.dga is None)
        mix = self.mixup.sample() if self.mixup is not None else None
        if self.dga is not None:
            return dga_step(self, forward_module, data['inputs'], optim_wrapper, self.dga['sub_batch_size'], mix)
        with optim_wrapper.optim_context(forward_module):
            losses = forward_module(inputs=data['inputs'], mode='loss', mix=mix)
        loss, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(loss)
        return log_vars

    @staticmethod
    def predict(image_embeds: torch.Tensor, text_embeds: torch.Tensor,
                data_samples: Optional[List[dict]]) -> List[dict]:
        data_samples = data_samples or [{} for _ in range(len(image_embeds))]
        image_embeds, text_embeds = image_embeds.detach().cpu(), text_embeds.detach().cpu()
        return [dict(sample, image_embed=image, text_embed=text)
                for sample, image, text in zip(data_samples, image_embeds, text_embeds)]


def checked_dga(dga: Optional[dict]) -> Optional[dict]:
    """``model.dga`` with known keys only and a positive integer sub-batch size (divisibility by the
    batch size is checked when the train loop is built: ``zerovl/engine/run_start.py``)."""
    if not dga:
        return None
    check_keys(dga, DGA_KEYS, 'model.dga')
    sub_batch_size = dga.get('sub_batch_size')
    if not isinstance(sub_batch_size, int) or isinstance(sub_batch_size, bool) or sub_batch_size < 1:
        raise ValueError(f'model.dga.sub_batch_size must be a positive integer, got {sub_batch_size!r}')
    return dict(dga)
