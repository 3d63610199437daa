"""ZeroVL's caption augmentation: mask, replace or delete WordPiece tokens, then rebuild a caption string.

The policy follows the original ``process_caption`` (method doc §2.5) token by token. Each WordPiece of
the caption independently is

* replaced by ``[MASK]``                          with ``mask_prob``   (ZeroVL: 0.10),
* replaced by a uniformly drawn vocabulary entry  with ``random_prob`` (ZeroVL: 0.02),
* deleted                                         with ``delete_prob`` (ZeroVL: 0.08),
* kept otherwise                                  (ZeroVL: 0.80).

The original draws u ~ U[0, 1) per token, "selects" it when u < 0.2 and splits the selected mass with
r = u / 0.2 at 0.5 and 0.6. That is the same as comparing u itself with the cumulative rates
0.10 / 0.12 / 0.20, which is what ``draw_outcomes`` does, so the defaults map every u to the original's
outcome (up to float rounding exactly at a boundary). BERT-style comments in the original call the last
branch "keep"; the code deletes those tokens, and so do we.

The pieces are then joined back into words (``join_pieces``) and the string goes to ``Tokenize``, which
re-tokenises it: the literal ``[MASK]`` comes back as the mask token id because BERT tokenizers match
their special tokens in raw text before splitting it.
"""
from typing import List, Sequence

import numpy as np

from zerovl.registry import TRANSFORMS
from .fast_tokens import piece_splitter
from .tokenizer_transform import TokenizerTransform

MASK_TOKEN = '[MASK]'
CONTINUATION_PREFIX = '##'
# A word is rebuilt from its first piece and at most this many following '##' pieces; the original
# stops there, so a word of four or more pieces loses its tail (e.g. un ##be ##liev ##able -> "unbeliev").
MAX_ABSORBED_PIECES = 2

# Per-token outcomes, in the order of the cumulative thresholds of ``draw_outcomes``.
MASK, RANDOM, DELETE, KEEP = range(4)


def check_rates(mask_prob: float, random_prob: float, delete_prob: float) -> None:
    """Each rate is a probability and together they leave a non-negative chance to keep a token."""
    rates = dict(mask_prob=mask_prob, random_prob=random_prob, delete_prob=delete_prob)
    for name, value in rates.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ValueError(f'CaptionAugment: {name} must be a number in [0, 1], got {value!r}')
    total = sum(rates.values())
    # A small slack so that rates written as decimals (0.7 + 0.2 + 0.1) are not refused for rounding.
    if total > 1.0 + 1e-9:
        raise ValueError(f'CaptionAugment: mask_prob + random_prob + delete_prob must be <= 1, got {total}')


def draw_outcomes(num_pieces: int, mask_prob: float, random_prob: float, delete_prob: float) -> np.ndarray:
    """One outcome code (MASK, RANDOM, DELETE or KEEP) per piece, drawn independently.

    numpy's global RNG on purpose: mmengine seeds it in the main process and, per worker, in the
    DataLoader's ``worker_init_fn``, so augmented captions are repeatable under a fixed seed.
    """
    thresholds = np.cumsum([mask_prob, random_prob, delete_prob])
    u = np.random.random_sample(num_pieces)
    # side='right': u equal to a threshold falls in the next bin, as the original's strict "<" does.
    return np.searchsorted(thresholds, u, side='right')


def apply_outcomes(pieces: Sequence[str], outcomes: np.ndarray, vocab: Sequence[str]) -> List[str]:
    """The pieces after masking, random replacement and deletion.

    Replacements are uniform over the *whole* vocabulary, as in the original (a choice over every key
    of the tokenizer's vocabulary): a replacement may be a special token such as ``[PAD]`` or
    ``[MASK]``, or a ``##`` continuation piece, which ``join_pieces`` then glues to the word before it.
    """
    replacements = iter(np.random.randint(0, len(vocab), size=int(np.sum(outcomes == RANDOM))))
    augmented = []
    # Plain ints: comparing numpy scalars one by one costs more than the rest of the loop.
    for piece, outcome in zip(pieces, outcomes.tolist()):
        if outcome == MASK:
            augmented.append(MASK_TOKEN)
        elif outcome == RANDOM:
            augmented.append(vocab[next(replacements)])
        elif outcome == KEEP:
            augmented.append(piece)
        # DELETE: dropped before joining, so the pieces around it become neighbours.
    return augmented


def is_continuation(piece: str) -> bool:
    return piece.startswith(CONTINUATION_PREFIX)


def word_starting_at(pieces: Sequence[str], start: int) -> str:
    """The word-initial piece at ``start`` with the ``##`` pieces that directly follow it (at most two)."""
    word = pieces[start]
    for piece in pieces[start + 1:start + 1 + MAX_ABSORBED_PIECES]:
        if not is_continuation(piece):
            break
        word += piece[len(CONTINUATION_PREFIX):]
    return word


def join_pieces(pieces: Sequence[str]) -> str:
    """Rebuild a space-separated caption from WordPieces, as the original detokeniser does.

    * a word-initial piece absorbs up to the next two ``##`` pieces; further pieces are lost;
    * ``[MASK]`` stays the literal ``[MASK]`` and absorbs nothing, so the ``##`` pieces of a masked
      word are dropped;
    * every ``##`` piece not absorbed (an orphan) is dropped, e.g. the tail of a word whose first
      piece was a ``##`` replacement, or at the start of the caption.

    Deletion happens before joining, so the ``##`` pieces of a word whose first piece was deleted
    follow the previous word and are absorbed by it ("a na ##s" -> delete "na" -> "as") unless that
    previous piece is ``[MASK]`` or already carries two ``##`` pieces. The original does the same.
    """
    words = []
    for index, piece in enumerate(pieces):
        if is_continuation(piece):
            continue
        words.append(piece if piece == MASK_TOKEN else word_starting_at(pieces, index))
    return ' '.join(words)


@TRANSFORMS.register_module()
class CaptionAugment(TokenizerTransform):
    """Augment ``results['caption']`` by ZeroVL's WordPiece mask / replace / delete policy (training only).

    Put it before ``Tokenize``: it outputs a caption string, which ``Tokenize`` turns into ids.

    Args:
        tokenizer: the tokenizer's hub name or path, as given to ``Tokenize`` (same pieces, same
            vocabulary for the random replacements).
        mask_prob: per-token probability of ``[MASK]``.
        random_prob: per-token probability of a uniformly random vocabulary entry.
        delete_prob: per-token probability of deletion.
    """

    per_worker = ('_tokenizer', '_vocab', '_split')

    def __init__(self, tokenizer: str, mask_prob: float = 0.10, random_prob: float = 0.02,
                 delete_prob: float = 0.08) -> None:
        check_rates(mask_prob, random_prob, delete_prob)
        super().__init__(tokenizer)
        self.mask_prob = mask_prob
        self.random_prob = random_prob
        self.delete_prob = delete_prob

    @property
    def vocab(self) -> List[str]:
        """Every vocabulary entry, in id order; listed once per worker rather than per caption."""
        if self._vocab is None:
            token_to_id = self.tokenizer.get_vocab()
            self._vocab = sorted(token_to_id, key=token_to_id.get)
        return self._vocab

    def pieces(self, caption: str) -> List[str]:
        """``tokenizer.tokenize(caption)``, through the Rust backend when there is one (see ``fast_tokens``)."""
        if self._split is None:
            self._split = piece_splitter(self.tokenizer) or self.tokenizer.tokenize
        return self._split(caption)

    def augment(self, caption: str) -> str:
        pieces = self.pieces(caption)
        outcomes = draw_outcomes(len(pieces), self.mask_prob, self.random_prob, self.delete_prob)
        return join_pieces(apply_outcomes(pieces, outcomes, self.vocab))

    def transform(self, results: dict) -> dict:
        results['caption'] = self.augment(results['caption'])
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(tokenizer={self.tokenizer_name!r}, mask_prob={self.mask_prob}, '
                f'random_prob={self.random_prob}, delete_prob={self.delete_prob})')
