"""Embedding free-text and image-file queries the way the evaluation pipeline prepares its samples."""
import os.path as osp
from typing import List, Sequence, Tuple

import numpy as np
import torch

from zerovl.datasets.transforms.tokenize import Tokenize


def find_tokenize(pipeline) -> Tokenize:
    """The ``Tokenize`` step of a pipeline (an mmengine ``Compose`` or a list of transforms)."""
    transforms = getattr(pipeline, 'transforms', pipeline)
    for transform in transforms:
        if isinstance(transform, Tokenize):
            return transform
    names = [type(transform).__name__ for transform in transforms]
    raise ValueError(f'the test pipeline has no Tokenize transform (it has {names}); text queries are '
                     'tokenised with its tokenizer and max_length, so add one, e.g. '
                     "dict(type='Tokenize', tokenizer='bert-base-uncased', max_length=25)")


@torch.no_grad()
def embed_text_queries(model, tokenize: Tokenize, queries: Sequence[str]) -> torch.Tensor:
    """(Q, D) L2-normalised embeddings of ``queries``, tokenised exactly as the test captions are."""
    encoded = [tokenize.transform(dict(caption=query)) for query in queries]
    device = model.data_preprocessor.device
    input_ids = torch.as_tensor(np.stack([item['input_ids'] for item in encoded]), device=device)
    attention_mask = torch.as_tensor(np.stack([item['attention_mask'] for item in encoded]), device=device)
    return model.encode_text(input_ids, attention_mask).cpu()


def load_query_image(pipeline, path: str) -> torch.Tensor:
    """(3, H, W) uint8: ``path`` through the whole test pipeline, as a gallery image would go.

    The caption is empty: the pipeline's ``Tokenize`` needs one, and its output is not used.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'query image {path} does not exist')
    packed = pipeline(dict(img_path=path, caption='', image_id=path, dataset_name='query'))
    return packed['inputs']['images']


@torch.no_grad()
def embed_image_queries(model, pipeline, paths: Sequence[str]) -> Tuple[torch.Tensor, List[np.ndarray]]:
    """(Q, D) L2-normalised embeddings of the images at ``paths``, and each as drawn ((H, W, 3) RGB)."""
    images = torch.stack([load_query_image(pipeline, path) for path in paths])
    inputs = model.data_preprocessor(dict(inputs=dict(images=images)), False)['inputs']
    embeds = model.encode_image(inputs['images']).cpu()
    return embeds, [image.permute(1, 2, 0).numpy() for image in images]
