"""NLP helpers for assignment 05 (word and sentence embeddings), offline.

Importing ``tlhelpers.nlp`` is cheap: it imports no torch, transformers or gensim. The functions below are
loaded from their submodule on first use, so ``from tlhelpers.nlp import load_glove`` works too; or import the
submodule you need:

* :mod:`tlhelpers.nlp.glove` -- GloVe 6B 50d as gensim ``KeyedVectors`` (cached), neighbours, analogies
* :mod:`tlhelpers.nlp.evaluation` -- Google analogies, WordSim353, SimLex999 (gensim's test data)
* :mod:`tlhelpers.nlp.text` -- tokenizer, vocabulary, ``texts_to_sequences`` (NumPy only)
* :mod:`tlhelpers.nlp.embedding_matrix` -- an embedding matrix for a vocabulary (NumPy only)
* :mod:`tlhelpers.nlp.datasets` -- WordNet gloss -> lexicographer category; VADER word -> valence
* :mod:`tlhelpers.nlp.minilm` -- all-MiniLM-L6-v2 with transformers, masked mean pooling, ``encode``
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # glove
    "load_glove": "glove",
    "glove_files": "glove",
    "nearest_neighbours": "glove",
    "analogy": "glove",
    # evaluation
    "evaluate_analogies": "evaluation",
    "evaluate_word_pairs": "evaluation",
    "evaluate_embeddings": "evaluation",
    "analogy_questions_path": "evaluation",
    "wordsim353_path": "evaluation",
    "simlex999_path": "evaluation",
    # text
    "PAD": "text",
    "UNK": "text",
    "tokenize": "text",
    "build_vocab": "text",
    "texts_to_sequences": "text",
    # embedding matrix
    "build_embedding_matrix": "embedding_matrix",
    # datasets
    "NOUN_LEXNAMES": "datasets",
    "GlossDataset": "datasets",
    "ValenceDataset": "datasets",
    "wordnet_gloss_dataset": "datasets",
    "vader_valence_dataset": "datasets",
    "wordnet_dir": "datasets",
    # minilm
    "minilm_path": "minilm",
    "load_minilm": "minilm",
    "mean_pool": "minilm",
    "encode": "minilm",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tlhelpers.nlp' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
