"""Turn ``results['caption']`` into fixed-length token ids and an attention mask.

The tokenizer is named by a string (a Hugging Face hub name, a local tokenizer folder, or a WordPiece
``vocab.txt``) so configs stay plain data and the same caption pipeline works offline with a shipped
vocabulary file.
"""

import numpy as np

from zerovl.registry import TRANSFORMS
from .fast_tokens import fixed_length_encoder
from .tokenizer_transform import TokenizerTransform


@TRANSFORMS.register_module()
class Tokenize(TokenizerTransform):
    """Tokenize ``results['caption']`` into ``input_ids`` and ``attention_mask`` (int64, length max_length).

    Captions are truncated and padded to ``max_length`` tokens, [CLS] and [SEP] included (ZeroVL
    uses 25), so every sample of a batch has the same length.
    """

    per_worker = ('_tokenizer', '_encoder')

    def __init__(self, tokenizer: str, max_length: int = 25) -> None:
        super().__init__(tokenizer)
        self.max_length = max_length

    @property
    def encoder(self):
        """The fast tokenizer's backend set to this length (see ``fast_tokens``); None for a slow one."""
        if self._encoder is None:  # not looked at yet; False once a slow tokenizer was found
            encoder = fixed_length_encoder(self.tokenizer, self.max_length)
            self._encoder = False if encoder is None else encoder
        return None if self._encoder is False else self._encoder

    def encode(self, caption: str):
        """(input_ids, attention_mask) as lists, the same as the tokenizer's own call gives."""
        if self.encoder is not None:
            if not isinstance(caption, str):  # the backend would raise a bare TypeError
                raise TypeError(f'Tokenize: caption must be a str, got {type(caption).__name__}: {caption!r}')
            encoding = self.encoder.encode(caption)
            return encoding.ids, encoding.attention_mask
        encoded = self.tokenizer(caption, padding='max_length', truncation=True, max_length=self.max_length,
                                 return_attention_mask=True)
        return encoded['input_ids'], encoded['attention_mask']

    def transform(self, results: dict) -> dict:
        input_ids, attention_mask = self.encode(results['caption'])
        results['input_ids'] = np.asarray(input_ids, dtype=np.int64)
        results['attention_mask'] = np.asarray(attention_mask, dtype=np.int64)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(tokenizer={self.tokenizer_name!r}, max_length={self.max_length})'


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
