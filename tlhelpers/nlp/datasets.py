"""Two real, offline NLP data sets for the embeddings assignment.

* :func:`wordnet_gloss_dataset` -- text classification: the gloss (definition) of each WordNet 3.0 noun synset
  -> its lexicographer category (``noun.animal``, ``noun.artifact``, ... 26 classes, 82,115 synsets), from
  Debian's ``wordnet-base`` (``/usr/share/wordnet/data.noun``). Split by synset: one row per synset, each
  synset in train or test, never both.
* :func:`vader_valence_dataset` -- regression: a word of the VADER sentiment lexicon (PyPI ``vaderSentiment``)
  -> its mean human valence rating (-4 .. +4). Split by word: no test word is seen in training.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from tlhelpers.data import DataNotFoundError, few_shot_subset
from tlhelpers.package_data import install_hint, package_folder

if TYPE_CHECKING:  # pragma: no cover
    from gensim.models import KeyedVectors

__all__ = [
    "NOUN_LEXNAMES",
    "WORDNET_DIR_ENV",
    "WORDNET_INSTALL_HINT",
    "VADER_INSTALL_HINT",
    "GlossDataset",
    "ValenceDataset",
    "wordnet_dir",
    "read_wordnet_nouns",
    "wordnet_gloss_dataset",
    "vader_lexicon_path",
    "read_vader_lexicon",
    "vader_valence_dataset",
]

WORDNET_DIR_ENV = "TLHELPERS_WORDNET_DIR"
DEBIAN_WORDNET_DIR = Path("/usr/share/wordnet")
WORDNET_INSTALL_HINT = "sudo apt-get install wordnet-base"
VADER_INSTALL_HINT = install_hint("vaderSentiment", "nlp")

#: WordNet's lexicographer files 03..28 (``lex_filenum`` in ``data.noun``), from WordNet's ``lexnames``.
NOUN_LEXNAMES: dict[int, str] = {
    3: "noun.Tops", 4: "noun.act", 5: "noun.animal", 6: "noun.artifact", 7: "noun.attribute",
    8: "noun.body", 9: "noun.cognition", 10: "noun.communication", 11: "noun.event", 12: "noun.feeling",
    13: "noun.food", 14: "noun.group", 15: "noun.location", 16: "noun.motive", 17: "noun.object",
    18: "noun.person", 19: "noun.phenomenon", 20: "noun.plant", 21: "noun.possession", 22: "noun.process",
    23: "noun.quantity", 24: "noun.relation", 25: "noun.shape", 26: "noun.state", 27: "noun.substance",
    28: "noun.time",
}


def _check_fraction(name: str, value: float) -> None:
    if not isinstance(value, (float, int)) or isinstance(value, bool) or not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be a fraction between 0 and 1, got {value!r}")


# --------------------------------------------------------------------------------------------- WordNet


@dataclass(frozen=True)
class GlossDataset:
    """WordNet gloss classification data: texts, integer labels, class names and synset ids per split."""

    texts_train: list[str]
    y_train: np.ndarray
    texts_test: list[str]
    y_test: np.ndarray
    classes: tuple[str, ...]
    synsets_train: np.ndarray
    synsets_test: np.ndarray
    lemmas_train: list[str] = field(repr=False)
    lemmas_test: list[str] = field(repr=False)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def few_shot(self, n_per_class: int, random_state: int | None = 0) -> "GlossDataset":
        """The same data set with a class-balanced training subset of ``n_per_class`` glosses per class.

        The test split is unchanged. Raises ``ValueError`` when a class has fewer training glosses (use
        ``min_class_size`` when loading to drop small classes).
        """
        idx = few_shot_subset(self.y_train, n_per_class, random_state=random_state)
        return replace(self, texts_train=[self.texts_train[i] for i in idx], y_train=self.y_train[idx],
                       synsets_train=self.synsets_train[idx], lemmas_train=[self.lemmas_train[i] for i in idx])

    def summary(self) -> dict[str, Any]:
        """Sizes as a plain dict: classes, train/test sizes, smallest training class."""
        counts = np.bincount(self.y_train, minlength=self.n_classes)
        return {"classes": self.n_classes, "train": len(self.texts_train), "test": len(self.texts_test),
                "min_train_per_class": int(counts.min()), "max_train_per_class": int(counts.max())}


def wordnet_dir(folder: str | os.PathLike[str] | None = None) -> Path:
    """The WordNet ``dict`` folder holding ``data.noun``: ``folder``, else ``$TLHELPERS_WORDNET_DIR``, else
    ``/usr/share/wordnet``. Raises :class:`tlhelpers.data.DataNotFoundError` naming the install command."""
    chosen = Path(folder) if folder is not None else Path(os.environ.get(WORDNET_DIR_ENV) or DEBIAN_WORDNET_DIR)
    if not (chosen / "data.noun").is_file():
        raise DataNotFoundError(
            f"WordNet 3.0 is not installed: {chosen / 'data.noun'} is missing. Install it with "
            f"`{WORDNET_INSTALL_HINT}`, or point ${WORDNET_DIR_ENV} (or the folder argument) at a WordNet "
            "folder that contains data.noun."
        )
    return chosen


def read_wordnet_nouns(folder: str | os.PathLike[str] | None = None) -> list[tuple[int, int, list[str], str]]:
    """Every noun synset of ``data.noun`` as ``(offset, lex_filenum, lemmas, gloss)``.

    ``gloss`` is the text after ``|``: the definition, then any quoted examples after ``;``. Lemmas have
    ``_`` replaced by spaces and adjective markers like ``(a)`` removed.
    """
    path = wordnet_dir(folder) / "data.noun"
    synsets = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line_no, line in enumerate(handle, 1):
            if line.startswith("  "):  # licence header
                continue
            data, sep, gloss = line.partition(" | ")
            fields = data.split()
            if not sep or len(fields) < 4:
                raise ValueError(f"{path}:{line_no}: not a WordNet data line")
            offset, lex_filenum, n_words = int(fields[0]), int(fields[1]), int(fields[3], 16)
            lemmas = [re.sub(r"\([a-z]+\)$", "", w).replace("_", " ") for w in fields[4:4 + 2 * n_words:2]]
            synsets.append((offset, lex_filenum, lemmas, gloss.strip()))
    return synsets


def _definition(gloss: str) -> str:
    """The gloss without its quoted examples (``definition; "example"; "example"``)."""
    return re.split(r';\s*"', gloss, maxsplit=1)[0].strip().rstrip(";").strip()


def wordnet_gloss_dataset(test_size: float = 0.2, random_state: int | None = 0, min_class_size: int = 0,
                          n_per_class: int | None = None, text: str = "definition",
                          folder: str | os.PathLike[str] | None = None) -> GlossDataset:
    """WordNet noun gloss -> lexicographer category (up to 26 classes), split by synset.

    Parameters
    ----------
    test_size:
        Fraction of synsets in the test split (stratified by category).
    random_state:
        Seed of the split (and of the few-shot subset).
    min_class_size:
        Drop categories with fewer synsets than this (e.g. ``noun.Tops`` has 51, ``noun.motive`` 42).
    n_per_class:
        If given, keep only ``n_per_class`` training glosses per class (see :meth:`GlossDataset.few_shot`).
    text:
        ``"definition"`` (default: the definition only), ``"gloss"`` (definition and usage examples), or
        ``"lemmas+definition"`` (``"frog, toad, ...: definition"``; easier, the words give the class away).
    folder:
        WordNet folder holding ``data.noun`` (default ``$TLHELPERS_WORDNET_DIR`` or ``/usr/share/wordnet``).

    Labels are ``0..n_classes-1`` indexing ``classes`` (lexicographer names in file-number order).
    """
    from sklearn.model_selection import train_test_split

    _check_fraction("test_size", test_size)
    if not isinstance(min_class_size, (int, np.integer)) or min_class_size < 0:
        raise ValueError(f"min_class_size must be a non-negative integer, got {min_class_size!r}")
    if text not in ("definition", "gloss", "lemmas+definition"):
        raise ValueError(f"text must be 'definition', 'gloss' or 'lemmas+definition', got {text!r}")
    synsets = read_wordnet_nouns(folder)
    lex = np.array([s[1] for s in synsets])
    present, counts = np.unique(lex, return_counts=True)
    keep_lex = [int(c) for c, n in zip(present, counts) if n >= max(min_class_size, 2)]
    unknown = [c for c in keep_lex if c not in NOUN_LEXNAMES]
    if unknown:
        raise ValueError(f"data.noun has lexicographer file numbers outside 03..28: {unknown}")
    if len(keep_lex) < 2:
        raise ValueError(f"min_class_size={min_class_size} leaves fewer than 2 classes")
    label_of = {c: i for i, c in enumerate(keep_lex)}
    rows = [s for s in synsets if s[1] in label_of]

    def make_text(s: tuple[int, int, list[str], str]) -> str:
        if text == "gloss":
            return s[3]
        if text == "definition":
            return _definition(s[3])
        return f"{', '.join(s[2])}: {_definition(s[3])}"

    texts = [make_text(s) for s in rows]
    y = np.array([label_of[s[1]] for s in rows], dtype=np.int64)
    offsets = np.array([s[0] for s in rows], dtype=np.int64)
    lemmas = [", ".join(s[2]) for s in rows]
    idx_train, idx_test = train_test_split(np.arange(len(rows)), test_size=test_size, random_state=random_state,
                                           stratify=y)
    idx_train, idx_test = np.sort(idx_train), np.sort(idx_test)
    data = GlossDataset(
        texts_train=[texts[i] for i in idx_train], y_train=y[idx_train],
        texts_test=[texts[i] for i in idx_test], y_test=y[idx_test],
        classes=tuple(NOUN_LEXNAMES[c] for c in keep_lex),
        synsets_train=offsets[idx_train], synsets_test=offsets[idx_test],
        lemmas_train=[lemmas[i] for i in idx_train], lemmas_test=[lemmas[i] for i in idx_test],
    )
    if n_per_class is not None:
        data = data.few_shot(n_per_class, random_state=random_state)
    return data


# ----------------------------------------------------------------------------------------------- VADER


@dataclass(frozen=True)
class ValenceDataset:
    """VADER word valence regression data; ``report`` counts the words found in the embedding vocabulary."""

    words_train: list[str]
    y_train: np.ndarray
    words_test: list[str]
    y_test: np.ndarray
    std_train: np.ndarray = field(repr=False)
    std_test: np.ndarray = field(repr=False)
    report: dict[str, Any] = field(default_factory=dict)


def vader_lexicon_path() -> Path:
    """Path of ``vader_lexicon.txt`` inside the ``vaderSentiment`` package (found without importing it)."""
    return package_folder("vaderSentiment", "The VADER lexicon", "vader_lexicon.txt", extra="nlp")


def read_vader_lexicon(path: str | os.PathLike[str] | None = None) -> list[tuple[str, float, float]]:
    """``(token, mean valence, std)`` for each VADER entry, first occurrence of a repeated token kept."""
    path = Path(path) if path is not None else vader_lexicon_path()
    entries: dict[str, tuple[str, float, float]] = {}
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                raise ValueError(f"{path}:{line_no}: expected token<TAB>mean<TAB>std<TAB>ratings")
            entries.setdefault(parts[0], (parts[0], float(parts[1]), float(parts[2])))
    return list(entries.values())


_WORD = re.compile(r"[a-z]+(?:['\-][a-z]+)*")


def vader_valence_dataset(test_size: float = 0.2, random_state: int | None = 0, words_only: bool = True,
                          keyed_vectors: "KeyedVectors | Iterable[str] | None" = None,
                          in_vocab_only: bool = False, path: str | os.PathLike[str] | None = None
                          ) -> ValenceDataset:
    """VADER lexicon word -> mean valence (-4 most negative .. +4 most positive), split by word.

    Parameters
    ----------
    test_size, random_state:
        The split: each (distinct) word is in train or test, never both.
    words_only:
        Keep lower-case words only (drop emoticons such as ``":-)"`` and tokens like ``"d:"``).
    keyed_vectors:
        The embedding vocabulary to count against (``KeyedVectors`` or any iterable of words); default
        GloVe 6B 50d (:func:`tlhelpers.nlp.glove.load_glove`).
    in_vocab_only:
        Keep only words that have a vector (so every word can be embedded).
    path:
        Another copy of ``vader_lexicon.txt``.

    ``report`` = ``{"words", "train", "test", "train_in_vocab", "test_in_vocab", "test_in_vocab_fraction",
    "dropped_not_words"}``.
    """
    from sklearn.model_selection import train_test_split

    _check_fraction("test_size", test_size)
    entries = read_vader_lexicon(path)
    total = len(entries)
    if words_only:
        entries = [e for e in entries if _WORD.fullmatch(e[0])]
    dropped = total - len(entries)
    if keyed_vectors is None:
        from tlhelpers.nlp.glove import load_glove

        keyed_vectors = load_glove()
    vocab = keyed_vectors.key_to_index if hasattr(keyed_vectors, "key_to_index") else set(keyed_vectors)
    if in_vocab_only:
        entries = [e for e in entries if e[0] in vocab]
    if len(entries) < 2:
        raise ValueError("fewer than 2 VADER entries are left to split")
    words = [e[0] for e in entries]
    mean = np.array([e[1] for e in entries], dtype=np.float32)
    std = np.array([e[2] for e in entries], dtype=np.float32)
    idx_train, idx_test = train_test_split(np.arange(len(words)), test_size=test_size, random_state=random_state)
    words_train = [words[i] for i in idx_train]
    words_test = [words[i] for i in idx_test]
    test_in = sum(w in vocab for w in words_test)
    report = {
        "words": len(words),
        "train": len(words_train),
        "test": len(words_test),
        "train_in_vocab": int(sum(w in vocab for w in words_train)),
        "test_in_vocab": int(test_in),
        "test_in_vocab_fraction": test_in / len(words_test),
        "dropped_not_words": int(dropped),
    }
    return ValenceDataset(words_train, mean[idx_train], words_test, mean[idx_test], std[idx_train],
                          std[idx_test], report)
