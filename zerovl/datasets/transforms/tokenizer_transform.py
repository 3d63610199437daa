"""The base of the caption transforms that need a tokenizer named by a string (``Tokenize``, ``CaptionAugment``)."""
from typing import Tuple

from mmcv.transforms import BaseTransform

from zerovl.utils.tokenizer import build_tokenizer


class TokenizerTransform(BaseTransform):
    """Holds the tokenizer's name and builds the tokenizer on first use.

    Not in ``__init__``: building a pipeline (in the main process, or to print a config) then costs
    nothing, and each DataLoader worker builds its own instead of receiving a pickled copy. Attributes
    listed in ``per_worker`` (the tokenizer and whatever a subclass derives from it) are dropped when
    the transform is pickled, so that each worker rebuilds them.
    """

    per_worker: Tuple[str, ...] = ('_tokenizer',)

    def __init__(self, tokenizer: str) -> None:
        if not isinstance(tokenizer, str):
            raise TypeError(f'{type(self).__name__}: tokenizer must be a hub name or a path (str), '
                            f'got {type(tokenizer)}')
        self.tokenizer_name = tokenizer
        for name in self.per_worker:
            setattr(self, name, None)

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            self._tokenizer = build_tokenizer(self.tokenizer_name)
        return self._tokenizer

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.update(dict.fromkeys(self.per_worker))
        return state
