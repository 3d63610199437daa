"""The dual encoder: two towers, two projection heads, one contrastive loss."""
from typing import Dict, List, Optional

import torch
from mmengine.model import BaseModel

from zerovl.registry import MODELS
from .heads import l2_normalize


@MODELS.register_module()
class DualEncoder(BaseModel):
    """CLIP-style image-text model trained with ZeroVL's recipe.

    Args:
        image_tower / text_tower: configs of registered towers exposing ``out_dim``.
        embed_dim: width of the shared embedding space (512 in ZeroVL).
        projection: head config; ``in_dim``/``out_dim`` are filled in per tower.
        loss: contrastive loss config (owns the temperature).
        data_preprocessor: normalises the image batch on the device.

    ``forward(inputs, data_samples, mode)`` follows MMEngine: ``'loss'`` returns the loss dict,
    ``'predict'`` returns one dict per sample with its L2-normalised ``image_embed`` and ``text_embed``
    (the input of :class:`zerovl.evaluation.RetrievalMetric`), ``'tensor'`` returns both embedding batches.
    """

    def __init__(self,
                 image_tower: dict,
                 text_tower: dict,
                 embed_dim: int = 512,
                 projection: Optional[dict] = None,
                 loss: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        # Built here with zerovl's registry: BaseModel would look the type up in MMEngine's root.
        data_preprocessor = MODELS.build(data_preprocessor or dict(type='ImageTextDataPreprocessor'))
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        projection = projection or dict(type='LinearProjection')
        self.image_tower = MODELS.build(image_tower)
        self.text_tower = MODELS.build(text_tower)
        self.image_projection = MODELS.build(dict(projection, in_dim=self.image_tower.out_dim, out_dim=embed_dim))
        self.text_projection = MODELS.build(dict(projection, in_dim=self.text_tower.out_dim, out_dim=embed_dim))
        self.loss_module = MODELS.build(loss or dict(type='InfoNCELoss'))
        self.embed_dim = embed_dim

    def encode_image(self, images: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        embeds = self.image_projection(self.image_tower(images))
        return l2_normalize(embeds) if normalize else embeds

    def encode_text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    normalize: bool = True) -> torch.Tensor:
        embeds = self.text_projection(self.text_tower(input_ids, attention_mask))
        return l2_normalize(embeds) if normalize else embeds

    def forward(self, inputs: dict, data_samples: Optional[List[dict]] = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs)
        image_embeds = self.encode_image(inputs['images'])
        text_embeds = self.encode_text(inputs['input_ids'], inputs['attention_mask'])
        if mode == 'tensor':
            return image_embeds, text_embeds
        if mode == 'predict':
            return self.predict(image_embeds, text_embeds, data_samples)
        raise ValueError(f'DualEncoder.forward: unknown mode {mode!r} (loss, predict or tensor)')

    def loss(self, inputs: dict) -> Dict[str, torch.Tensor]:
        image_embeds = self.encode_image(inputs['images'])
        text_embeds = self.encode_text(inputs['input_ids'], inputs['attention_mask'])
        loss = self.loss_module(image_embeds, text_embeds)
        return dict(loss=loss, temperature=self.loss_module.temperature().detach())

    @staticmethod
    def predict(image_embeds: torch.Tensor, text_embeds: torch.Tensor,
                data_samples: Optional[List[dict]]) -> List[dict]:
        data_samples = data_samples or [{} for _ in range(len(image_embeds))]
        image_embeds, text_embeds = image_embeds.detach().cpu(), text_embeds.detach().cpu()
        return [dict(sample, image_embed=image, text_embed=text)
                for sample, image, text in zip(data_samples, image_embeds, text_embeds)]
