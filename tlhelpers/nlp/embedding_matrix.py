"""An embedding matrix for a vocabulary from pretrained word vectors, in NumPy (for PyTorch and Keras alike).

Row ``i`` holds the vector of the word with index ``i``. Policy:

* row 0 (``<pad>``) is always zeros;
* a word found in the pretrained vectors gets its vector, unchanged (looked up as written, then lower-cased);
* ``<unk>`` and every out-of-vocabulary (OOV) word get, with ``policy="random"`` (default), an independent draw
  from ``Normal(0, s)`` where ``s`` is the standard deviation of all pretrained values (GloVe 50d: about 0.64),
  seeded by ``seed``, so fine-tuning can tell them apart; with ``policy="zeros"`` they are zeros.

Use it as ``torch.nn.Embedding.from_pretrained(torch.from_numpy(M), padding_idx=0, freeze=...)`` or
``keras.layers.Embedding(M.shape[0], M.shape[1], embeddings_initializer=keras.initializers.Constant(M),
mask_zero=True)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from tlhelpers.nlp.text import PAD, UNK

if TYPE_CHECKING:  # pragma: no cover
    from gensim.models import KeyedVectors

__all__ = ["POLICIES", "build_embedding_matrix"]

POLICIES = ("random", "zeros")


def _as_index(vocab: Mapping[str, int] | Sequence[str]) -> list[str]:
    """Words ordered by index; checks the indices are 0..n-1 with <pad> at 0."""
    if isinstance(vocab, str):
        raise ValueError("vocab must be a dict word -> index or a list of words, not a string")
    if isinstance(vocab, Mapping):
        words: list[str | None] = [None] * len(vocab)
        for word, index in vocab.items():
            if not isinstance(index, (int, np.integer)) or not 0 <= index < len(vocab) or words[index] is not None:
                raise ValueError(f"vocab indices must be the distinct integers 0..{len(vocab) - 1}; "
                                 f"{word!r} has index {index!r}")
            words[index] = word
        ordered = [w for w in words if w is not None]
    else:
        ordered = list(vocab)
        if len(set(ordered)) != len(ordered):
            raise ValueError("vocab list has repeated words")
    if not ordered or ordered[0] != PAD:
        raise ValueError(f"vocab must have {PAD!r} at index 0 (use tlhelpers.nlp.text.build_vocab)")
    return ordered


def build_embedding_matrix(vocab: Mapping[str, int] | Sequence[str], keyed_vectors: "KeyedVectors | Any",
                           policy: str = "random", seed: int | None = 0, lowercase_fallback: bool = True,
                           dtype: Any = np.float32) -> tuple[np.ndarray, dict[str, Any]]:
    """Matrix ``(len(vocab), dim)`` of pretrained vectors for ``vocab``, and a report of what was missing.

    Parameters
    ----------
    vocab:
        ``dict`` word -> index (indices ``0..n-1``, ``"<pad>"`` at 0; ``"<unk>"`` anywhere, usually 1) or a
        list of words in index order.
    keyed_vectors:
        gensim ``KeyedVectors`` (anything with ``key_to_index``, ``vectors`` and ``vector_size``).
    policy:
        ``"random"`` or ``"zeros"``: the rows of ``<unk>`` and OOV words (see the module docstring).
    seed:
        Seed of the random rows (``policy="random"``).
    lowercase_fallback:
        Also try ``word.lower()`` when ``word`` itself is not found.

    Returns
    -------
    ``(matrix, report)`` where report is ``{"vocab_size", "dim", "found", "oov", "oov_rate", "oov_words",
    "policy", "random_std"}``; ``oov_rate = oov / (vocab_size - special tokens)``, counting ``<pad>`` and
    ``<unk>`` as neither found nor OOV. ``oov_words`` are in vocabulary order (most frequent first).
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    for attr in ("key_to_index", "vectors", "vector_size"):
        if not hasattr(keyed_vectors, attr):
            raise ValueError(f"keyed_vectors must be gensim KeyedVectors (missing .{attr}), "
                             f"got {type(keyed_vectors).__name__}")
    words = _as_index(vocab)
    vectors = np.asarray(keyed_vectors.vectors)
    key_to_index = keyed_vectors.key_to_index
    dim = int(keyed_vectors.vector_size)
    std = float(vectors.std()) if vectors.size else 1.0

    matrix = np.zeros((len(words), dim), dtype=dtype)
    rng = np.random.default_rng(seed)
    oov_words: list[str] = []
    found = 0
    for i, word in enumerate(words):
        if word == PAD:
            continue
        row = key_to_index.get(word)
        if row is None and lowercase_fallback:
            row = key_to_index.get(word.lower())
        if word != UNK and row is not None:
            matrix[i] = vectors[row]
            found += 1
            continue
        if word != UNK:
            oov_words.append(word)
        if policy == "random":
            matrix[i] = rng.normal(0.0, std, size=dim)
    n_regular = sum(1 for w in words if w not in (PAD, UNK))
    report = {
        "vocab_size": len(words),
        "dim": dim,
        "found": found,
        "oov": len(oov_words),
        "oov_rate": len(oov_words) / n_regular if n_regular else 0.0,
        "oov_words": oov_words,
        "policy": policy,
        "random_std": std if policy == "random" else 0.0,
    }
    return matrix, report
