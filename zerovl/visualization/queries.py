"""Embedding image-file queries the way the evaluation pipeline prepares its samples (text queries:
``zerovl.models.text_embedding.embed_texts``)."""
import os.path as osp
from typing import List, Sequence, Tuple

import numpy as np
import torch



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
