"""Embed and rank images and texts with a trained model, prepared exactly as ``tools/test.py`` prepares
its samples: the model's test pipeline (our registered transforms and tokenizer), then its data
preprocessor and encoders.

    inferencer = ZeroVLInferencer.create('work_dirs/export')                        # an export folder
    inferencer = ZeroVLInferencer.create('zerovl_demo', 'work_dirs/zerovl_demo/epoch_6.pth')  # config + checkpoint
    ranking = inferencer.rank_texts(['cat.jpg', image_array, pil_image], ['a cat', 'a dog'], top_k=1)
    ranking.indices[0], ranking.scores[0]   # best caption of cat.jpg and its cosine similarity
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence

import torch

from zerovl.datasets.transforms.tokenize import find_tokenize
from zerovl.models.text_embedding import embed_texts
from .ranking import top_k as stable_top_k
from .exported import load_exported
from .preprocess import ImageInput, build_transforms, prepare_image


@dataclass
class Ranking:
    """For each query, the gallery entries best first: ``scores``/``indices`` are (Q, k) and ``similarity``
    the full (Q, N) cosine matrix they were taken from."""

    scores: torch.Tensor
    indices: torch.Tensor
    similarity: torch.Tensor


class ZeroVLInferencer:
    """Image and text embeddings, their cosine similarities and rankings, from a dual encoder.

    Args:
        model: a dual encoder (``encode_image``, ``encode_text``, ``data_preprocessor``) in eval mode.
        test_pipeline: transform configs; the first loads the image file (``LoadImageFromFile``) and is
            skipped for images given as arrays or PIL images; one of them is ``Tokenize``.
        batch_size: images or texts per forward.
    """

    def __init__(self, model: torch.nn.Module, test_pipeline: Sequence[dict], batch_size: int = 32):
        if batch_size < 1:
            raise ValueError(f'batch_size must be at least 1, got {batch_size}')
        self.model = model.eval()
        self.batch_size = batch_size
        self.transforms = build_transforms(test_pipeline)
        self.tokenize = find_tokenize(self.transforms)

    @classmethod
    def from_exported(cls, folder: str, device: str = 'cpu', batch_size: int = 32) -> 'ZeroVLInferencer':
        exported = load_exported(folder, device)
        return cls(exported.model, exported.test_pipeline, batch_size)

    @classmethod
    def create(cls, config_or_export: str, checkpoint: Optional[str] = None, device: str = 'cpu',
               batch_size: int = 32, cfg_options: Optional[dict] = None) -> 'ZeroVLInferencer':
        """From what :func:`zerovl.create_model` takes: an export folder, or a config file or name with
        (or without) a checkpoint, which then need not be exported first."""
        from .create import load_model
        loaded = load_model(config_or_export, checkpoint, device, cfg_options)
        return cls(loaded.model, loaded.test_pipeline, batch_size)

    # ---------------------------------------------------------------------------------- preparing
    def prepare_image(self, image: ImageInput) -> torch.Tensor:
        """(3, H, W) uint8, as the test pipeline makes it. Arrays are (H, W, 3) uint8 RGB, as
        ``LoadImageFromFile`` would have decoded them; PIL images are converted to that."""
        return prepare_image(image, self.transforms)

    # ---------------------------------------------------------------------------------- embedding
    @torch.no_grad()
    def embed_images(self, images: Sequence[ImageInput]) -> torch.Tensor:
        """(N, D) L2-normalised float32 embeddings, on the CPU."""
        images = list(images)
        if not images:
            raise ValueError('embed_images: no images given')
        chunks = []
        for start in range(0, len(images), self.batch_size):
            batch = torch.stack([self.prepare_image(image) for image in images[start:start + self.batch_size]])
            pixels = self.model.data_preprocessor(dict(inputs=dict(images=batch)), False)['inputs']['images']
            chunks.append(self.model.encode_image(pixels).float().cpu())
        return torch.cat(chunks)

    @torch.no_grad()
    def embed_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """(N, D) L2-normalised float32 embeddings, on the CPU; tokenised as the test captions are."""
        return embed_texts(self.model, self.tokenize.tokenizer, texts, self.tokenize.max_length,
                           self.batch_size).float().cpu()

    # ---------------------------------------------------------------------------------- ranking
    def similarity(self, images: Sequence[ImageInput], texts: Sequence[str]) -> torch.Tensor:
        """(N_images, N_texts) cosine similarities."""
        return self.embed_images(images) @ self.embed_texts(texts).T

    def rank_texts(self, images: Sequence[ImageInput], texts: Sequence[str], top_k: Optional[int] = None) -> Ranking:
        """For every image, the texts best first (all of them unless ``top_k``)."""
        return rank(self.embed_images(images), self.embed_texts(texts), top_k)

    def rank_images(self, texts: Sequence[str], images: Sequence[ImageInput], top_k: Optional[int] = None) -> Ranking:
        """For every text, the images best first (all of them unless ``top_k``)."""
        return rank(self.embed_texts(texts), self.embed_images(images), top_k)


def rank(query_embeds: torch.Tensor, gallery_embeds: torch.Tensor, top_k: Optional[int]) -> Ranking:
    k = len(gallery_embeds) if top_k is None else top_k
    scores, indices = stable_top_k(query_embeds, gallery_embeds, k)
    return Ranking(scores=scores, indices=indices, similarity=query_embeds @ gallery_embeds.T)


def ranking_as_lists(ranking: Ranking, labels: List[str]) -> List[List[dict]]:
    """Per query, ``[{'index', 'label', 'score'}, ...]`` best first: the readable and JSON form."""
    return [[dict(index=index, label=labels[index], score=score) for index, score in zip(row_indices, row_scores)]
            for row_indices, row_scores in zip(ranking.indices.tolist(), ranking.scores.tolist())]
