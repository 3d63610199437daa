"""Per-sample records of image-text pairs, as the retrieval and domain-gap metrics keep them while a test
loop runs: compact CPU rows, grouped by dataset, with one embedding per image at the end."""
from typing import Any, Dict, List, Tuple

import numpy as np
import torch


_PAIR_KEYS = ('image_embed', 'text_embed', 'image_id', 'dataset_name')


def _hashable_id(image_id: Any) -> Any:
    # A collated id may arrive as a 0-d tensor or numpy scalar; those hash by identity, not value, so two
    # captions of the same image would not be grouped.
    if isinstance(image_id, (torch.Tensor, np.ndarray, np.generic)):
        return image_id.item()
    return image_id


def _embedding_row(embed: Any, key: str) -> torch.Tensor:
    embed = torch.as_tensor(embed)
    if embed.dim() != 1:
        raise ValueError(f'{key} must be a 1-D tensor per sample, got shape {tuple(embed.shape)}')
    # clone(): a model usually returns rows of its batch tensor; a row view would keep the whole batch
    # alive, and pickling it (collect_results_cpu dumps self.results) would write the whole batch storage.
    return embed.detach().cpu().clone()


def pair_record(sample: dict) -> dict:
    missing = [key for key in _PAIR_KEYS if key not in sample]
    if missing:
        raise KeyError(f'RetrievalMetric: a prediction lacks {missing}; it needs {list(_PAIR_KEYS)}')
    return dict(image_embed=_embedding_row(sample['image_embed'], 'image_embed'),
                text_embed=_embedding_row(sample['text_embed'], 'text_embed'),
                image_id=_hashable_id(sample['image_id']),
                dataset_name=str(sample['dataset_name']))


def group_by_dataset(records: List[dict]) -> Dict[str, List[dict]]:
    groups: Dict[str, List[dict]] = {}  # insertion order = first appearance: stable key order in logs
    for record in records:
        groups.setdefault(record['dataset_name'], []).append(record)
    return groups


def _stack_rows(rows: List[torch.Tensor], what: str) -> torch.Tensor:
    widths = {row.shape[0] for row in rows}
    if len(widths) != 1:
        raise ValueError(f'{what} have different widths {sorted(widths)}')
    return torch.stack(rows)


def dedupe_images(records: List[dict]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One image row per image_id (its first occurrence), all captions, and each caption's image index.

    The model embeds the image once per (image, caption) pair; evaluation must rank *distinct* images, or
    an image would compete with its own copies in T→I and be counted several times in I→T.
    """
    image_index: Dict[Any, int] = {}
    image_rows, text_rows, text_to_image = [], [], []
    for record in records:
        image_id = record['image_id']
        if image_id not in image_index:
            image_index[image_id] = len(image_rows)
            image_rows.append(record['image_embed'])
        text_rows.append(record['text_embed'])
        text_to_image.append(image_index[image_id])
    return (_stack_rows(image_rows, 'image embeddings'), _stack_rows(text_rows, 'text embeddings'),
            torch.tensor(text_to_image, dtype=torch.long))
