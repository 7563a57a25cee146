"""A simple, framework-free tokenizer and vocabulary, and padded integer sequences (NumPy only).

Conventions shared with :func:`tlhelpers.nlp.embedding_matrix.build_embedding_matrix`: a vocabulary is a
``dict`` word -> row index with ``PAD`` (``"<pad>"``) at index 0 and ``UNK`` (``"<unk>"``) at index 1; the other
words follow by decreasing training frequency (ties alphabetical), so the indices are ``0 .. len(vocab) - 1``.
The same integer arrays feed ``torch.nn.Embedding(padding_idx=0)`` and ``keras.layers.Embedding(mask_zero=True)``.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Mapping

import numpy as np

__all__ = ["PAD", "UNK", "PAD_INDEX", "UNK_INDEX", "TOKEN_PATTERN", "tokenize", "build_vocab",
           "texts_to_sequences"]

PAD = "<pad>"
UNK = "<unk>"
PAD_INDEX = 0
UNK_INDEX = 1

#: Runs of letters/digits (any script), with inner apostrophes or hyphens kept: "don't", "well-known".
TOKEN_PATTERN = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*")


def tokenize(text: str) -> list[str]:
    """Lower-case ``text`` and return its words (see :data:`TOKEN_PATTERN`); punctuation is dropped.

    >>> tokenize("The frog's well-known croak, (loud)!")
    ['the', "frog's", 'well-known', 'croak', 'loud']
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    return TOKEN_PATTERN.findall(text.lower())


def _check_texts(texts: Iterable[str]) -> list[str]:
    if isinstance(texts, str):
        raise ValueError("texts must be a sequence of strings, not a single string")
    return list(texts)


def build_vocab(texts: Iterable[str], min_count: int = 1, max_size: int | None = None) -> dict[str, int]:
    """Vocabulary of the training ``texts``: ``{"<pad>": 0, "<unk>": 1, word: index, ...}``.

    Words seen fewer than ``min_count`` times are left out (they become ``<unk>``); ``max_size`` caps the
    vocabulary *including* the two special tokens, keeping the most frequent words (ties alphabetical).
    """
    texts = _check_texts(texts)
    if not isinstance(min_count, (int, np.integer)) or min_count < 1:
        raise ValueError(f"min_count must be a positive integer, got {min_count!r}")
    if max_size is not None and (not isinstance(max_size, (int, np.integer)) or max_size < 2):
        raise ValueError(f"max_size must be an integer >= 2 (room for <pad> and <unk>) or None, got {max_size!r}")
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(tokenize(text))
    words = sorted((w for w, c in counts.items() if c >= min_count and w not in (PAD, UNK)),
                   key=lambda w: (-counts[w], w))
    if max_size is not None:
        words = words[: max_size - 2]
    vocab = {PAD: PAD_INDEX, UNK: UNK_INDEX}
    for word in words:
        vocab[word] = len(vocab)
    return vocab


def texts_to_sequences(texts: Iterable[str], vocab: Mapping[str, int], max_len: int,
                       padding: str = "post", truncating: str = "post") -> np.ndarray:
    """Token indices of each text, padded with 0 / cut to ``max_len``: an ``int64`` array ``(n, max_len)``.

    Words not in ``vocab`` map to ``vocab["<unk>"]``. ``padding`` / ``truncating`` = ``"post"`` (at the end,
    the default: keeps the start of long texts) or ``"pre"`` (at the start).
    """
    texts = _check_texts(texts)
    if not isinstance(max_len, (int, np.integer)) or isinstance(max_len, bool) or max_len < 1:
        raise ValueError(f"max_len must be a positive integer, got {max_len!r}")
    for name, value in (("padding", padding), ("truncating", truncating)):
        if value not in ("pre", "post"):
            raise ValueError(f"{name} must be 'pre' or 'post', got {value!r}")
    if vocab.get(PAD) != PAD_INDEX or UNK not in vocab:
        raise ValueError(f"vocab must map {PAD!r} to 0 and contain {UNK!r} (use build_vocab)")
    unk = vocab[UNK]
    out = np.full((len(texts), max_len), PAD_INDEX, dtype=np.int64)
    for row, text in enumerate(texts):
        ids = [vocab.get(tok, unk) for tok in tokenize(text)]
        ids = ids[:max_len] if truncating == "post" else ids[-max_len:]
        if ids:
            if padding == "post":
                out[row, : len(ids)] = ids
            else:
                out[row, max_len - len(ids):] = ids
    return out
