"""Load an open_clip export (:mod:`zerovl.apis.open_clip_export`) back with stock open_clip and compare it with
the zerovl model it came from: the same tokens, the same image tensors from the same picture, the same
embeddings. ``tools/model_converters/export_open_clip.py`` runs this after writing, so an export that
open_clip would load differently is reported rather than shipped.
"""
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .exported import ExportError

PROBE_TEXTS = ('a photo of a red circle', 'two blue squares on a white background', 'x')
TOLERANCE = 1e-4  # the embeddings are unit vectors: differences above this are not rounding


@dataclass
class Agreement:
    """Largest absolute differences between zerovl and open_clip (token ids must be equal)."""
    image_embeds: float
    text_embeds: float
    pixels: float  # the two preprocessings of one picture; nan when the export's preprocessing is approximate

    def worst(self) -> float:
        return max(self.image_embeds, self.text_embeds, 0.0 if np.isnan(self.pixels) else self.pixels)


def load_open_clip(folder: str, device: str = 'cpu'):
    """(model, preprocess, tokenizer) as open_clip's own users (and clip_benchmark) load a local folder."""
    import open_clip
    name = f'local-dir:{folder}'
    model, _, preprocess = open_clip.create_model_and_transforms(name, device=device)
    return model.eval(), preprocess, open_clip.get_tokenizer(name)


def probe_picture(seed: int = 0):
    """A non-square picture, so the resize really resamples."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (61, 83, 3), dtype=np.uint8))


@torch.no_grad()
def compare_with_open_clip(model, preprocess, tokenizer, folder: str, exact_preprocess: bool = True,
                           texts: Sequence[str] = PROBE_TEXTS) -> Agreement:
    """Embed probe texts, a probe picture and random image tensors both ways; raise :class:`ExportError`
    when the tokens differ or an embedding differs by more than ``TOLERANCE``."""
    open_clip_model, open_clip_preprocess, open_clip_tokenizer = load_open_clip(folder)
    tokens = tokenizer(list(texts))
    open_clip_tokens = open_clip_tokenizer(list(texts))
    if not torch.equal(tokens['input_ids'], open_clip_tokens):
        raise ExportError(f'{folder}: open_clip\'s tokenizer gives other token ids than ours for {list(texts)}')
    ours = model.encode_text(**tokens).float()
    theirs = open_clip_model.encode_text(open_clip_tokens, normalize=True).float()
    text_difference = (ours - theirs).abs().max().item()

    picture = probe_picture()
    pixels_ours = preprocess(picture)
    pixels_difference = float('nan')
    if exact_preprocess:
        pixels_difference = (pixels_ours - open_clip_preprocess(picture)).abs().max().item()
    generator = torch.Generator().manual_seed(0)
    batch = torch.cat([pixels_ours[None], torch.randn((2, *pixels_ours.shape), generator=generator)])
    image_difference = (model.encode_image(batch).float()
                        - open_clip_model.encode_image(batch, normalize=True).float()).abs().max().item()
    agreement = Agreement(image_embeds=image_difference, text_embeds=text_difference, pixels=pixels_difference)
    if agreement.worst() > TOLERANCE:
        raise ExportError(f'{folder}: open_clip embeds differently from the zerovl model ({agreement})')
    return agreement
