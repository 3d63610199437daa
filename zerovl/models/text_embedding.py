"""Text to embeddings, the one way every caller does it (zero-shot prompts, inference, retrieval pictures).

Captions are tokenised as the ``Tokenize`` transform does for the test captions (padded and truncated to
``max_length``, [CLS] and [SEP] included), batch by batch, on the model's device.
"""
from typing import Sequence

import torch


def embed_texts(model, tokenizer, texts: Sequence[str], max_length: int, batch_size: int = 256) -> torch.Tensor:
    """(N, D) L2-normalised embeddings of ``texts`` by ``model.encode_text``, on the model's device."""
    texts = list(texts)
    if not texts or not all(isinstance(text, str) for text in texts):
        raise ValueError('embed_texts: give a non-empty list of strings')
    device = next(model.text_tower.parameters()).device
    chunks = []
    for start in range(0, len(texts), batch_size):
        encoded = tokenizer(texts[start:start + batch_size], padding='max_length', truncation=True,
                            max_length=max_length, return_attention_mask=True, return_tensors='pt')
        chunks.append(model.encode_text(encoded['input_ids'].to(device), encoded['attention_mask'].to(device)))
    return torch.cat(chunks)
