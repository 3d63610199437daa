"""Per-caption tokenisation straight through a fast tokenizer's Rust backend.

A Hugging Face tokenizer call costs about four times what its Rust backend spends on the caption:
argument checks, setting truncation and padding on the backend again for every call, building a
``BatchEncoding``. ``Tokenize`` and ``CaptionAugment`` run once per training sample, so they call the
backend directly:

* ``fixed_length_encoder``: a private copy of the backend with the truncation and padding that
  ``tokenizer(text, padding='max_length', truncation=True, max_length=...)`` sets, so its ids and
  attention mask are the call's (tests compare them caption by caption);
* ``piece_splitter``: the WordPieces of ``tokenizer.tokenize(text)``.

A slow (pure Python) tokenizer has no backend; both then return None and the callers keep the
tokenizer's own methods.
"""
from typing import Callable, List, Optional


def rust_backend(tokenizer):
    """The ``tokenizers.Tokenizer`` behind a fast tokenizer, or None for a slow one."""
    return tokenizer.backend_tokenizer if getattr(tokenizer, 'is_fast', False) else None


def backend_copy(tokenizer):
    """A private copy of the fast tokenizer's backend without truncation or padding, or None.

    A copy, not the backend itself: a call made through the tokenizer leaves its truncation and
    padding set on the backend (a ``tokenizer(..., padding='max_length')`` elsewhere would pad our pieces).
    """
    backend = rust_backend(tokenizer)
    if backend is None:
        return None
    from tokenizers import Tokenizer

    copy = Tokenizer.from_str(backend.to_str())
    copy.no_truncation()
    copy.no_padding()
    return copy


def fixed_length_encoder(tokenizer, max_length: int):
    """A backend copy that truncates and pads every caption to ``max_length`` tokens, or None."""
    encoder = backend_copy(tokenizer)
    if encoder is None:
        return None
    encoder.enable_truncation(max_length, stride=0, strategy='longest_first', direction=tokenizer.truncation_side)
    encoder.enable_padding(direction=tokenizer.padding_side, pad_id=tokenizer.pad_token_id,
                           pad_type_id=tokenizer.pad_token_type_id, pad_token=tokenizer.pad_token, length=max_length)
    return encoder


def piece_splitter(tokenizer) -> Optional[Callable[[str], List[str]]]:
    """text -> its WordPieces without special tokens, through the backend; None for a slow tokenizer."""
    backend = backend_copy(tokenizer)
    if backend is None:
        return None
    return lambda text: backend.encode(text, add_special_tokens=False).tokens
