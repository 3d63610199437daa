"""The retrieval gallery of an evaluation dataset: one embedding per distinct image, one per caption."""
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from zerovl.datasets import image_text_collate

ImageKey = Tuple[str, Any]  # (dataset_name, image_id): ids restart in every source of a ConcatDataset


@dataclass
class Gallery:
    """Embeddings of a dataset's distinct images and of all its captions, and how to show them.

    ``image_samples[i]`` is the dataset index of the first pair of image ``i``: the image is fetched
    again (through the dataset's pipeline) when drawn rather than kept, since a full test set of
    decoded images would not fit in memory.
    """

    dataset: Dataset
    image_embeds: torch.Tensor        # (N_img, D), L2-normalised
    image_keys: List[ImageKey]
    image_samples: List[int]
    text_embeds: torch.Tensor         # (N_txt, D), L2-normalised
    captions: List[str]
    caption_images: List[int]         # index into the images of each caption's image

    def image(self, index: int) -> np.ndarray:
        """Image ``index`` as the model saw it: (H, W, 3) uint8 RGB after the test pipeline."""
        packed = self.dataset[self.image_samples[index]]
        return packed['inputs']['images'].permute(1, 2, 0).numpy()


def pipeline_of(dataset) -> Any:
    """The pipeline of ``dataset``, or of its first part when it wraps others (ConcatDataset, ...)."""
    while not hasattr(dataset, 'pipeline'):
        inner = getattr(dataset, 'datasets', None) or [getattr(dataset, 'dataset', None)]
        if inner[0] is None:
            raise ValueError(f'{type(dataset).__name__} has no pipeline, nor a dataset inside it that has one')
        dataset = inner[0]
    return dataset.pipeline


def select_samples(infos: Sequence[dict], dataset_names: Optional[Sequence[str]]) -> List[int]:
    """Indices of the pairs whose ``dataset_name`` is listed (all pairs when ``dataset_names`` is None)."""
    if dataset_names is None:
        return list(range(len(infos)))
    available = sorted({info['dataset_name'] for info in infos})
    unknown = sorted(set(dataset_names) - set(available))
    if unknown:
        raise ValueError(f'dataset(s) {unknown} are not in the gallery; it has {available}')
    return [index for index, info in enumerate(infos) if info['dataset_name'] in dataset_names]


@torch.no_grad()
def embed_gallery(model, dataset: Dataset, batch_size: int = 64, num_workers: int = 0,
                  dataset_names: Optional[Sequence[str]] = None) -> Gallery:
    """Embed every caption of ``dataset`` and every distinct image once, in dataset order.

    ``dataset`` yields ``PackImageTextInputs`` samples, one per (image, caption) pair, and describes each
    pair with ``get_data_info`` (``caption``, ``image_id``, ``dataset_name``), as ``ImageTextDataset`` and
    ``ConcatDataset`` do. ``model`` is a ``DualEncoder`` in eval mode. Images are keyed by
    ``(dataset_name, image_id)``: each source of a concatenation numbers its images from 1.
    """
    infos = [dataset.get_data_info(index) for index in range(len(dataset))]
    samples = select_samples(infos, dataset_names)
    if not samples:
        raise ValueError('the gallery dataset has no image-caption pairs')
    loader = DataLoader(Subset(dataset, samples), batch_size=batch_size, shuffle=False, num_workers=num_workers,
                        collate_fn=image_text_collate)
    image_index: Dict[ImageKey, int] = {}
    image_samples, image_chunks, text_chunks, caption_images = [], [], [], []
    position = 0  # sequential loader: the n-th pair loaded is samples[n]
    for batch in loader:
        inputs = model.data_preprocessor(batch, False)['inputs']
        text_chunks.append(model.encode_text(inputs['input_ids'], inputs['attention_mask']).cpu())
        new_images = []
        for row in range(len(inputs['input_ids'])):
            info = infos[samples[position + row]]
            key = (info['dataset_name'], info['image_id'])
            if key not in image_index:
                image_index[key] = len(image_samples)
                image_samples.append(samples[position + row])
                new_images.append(row)
            caption_images.append(image_index[key])
        if new_images:  # each image once, however many captions it has
            image_chunks.append(model.encode_image(inputs['images'][new_images]).cpu())
        position += len(inputs['input_ids'])
    return Gallery(dataset=dataset, image_embeds=torch.cat(image_chunks), image_keys=list(image_index),
                   image_samples=image_samples, text_embeds=torch.cat(text_chunks),
                   captions=[infos[index]['caption'] for index in samples], caption_images=caption_images)
