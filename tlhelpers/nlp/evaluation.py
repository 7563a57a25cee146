"""Standard intrinsic evaluations of word vectors, on the test data that ships with gensim.

* Google analogies (``questions-words.txt``, Mikolov et al. 2013; 19,544 questions in 14 sections: 5 semantic,
  9 syntactic ``gram*``): accuracy of 3CosAdd, exactly as ``KeyedVectors.evaluate_word_analogies``.
* WordSim353 (``wordsim353.tsv``) and SimLex999 (``simlex999.txt``): Spearman (and Pearson) correlation between
  human similarity ratings and cosine similarity, through ``KeyedVectors.evaluate_word_pairs``.

Every function returns a plain ``dict`` of numbers (ready for :func:`tlhelpers.settings.record_metric`).

gensim's analogy loop calls ``most_similar`` once per question and needs minutes for the 19,544 questions on a
laptop CPU; ``engine="numpy"`` (the default) computes the same predictions with batched matrix products in
about a second. ``engine="gensim"`` runs gensim's own loop; the tests check that both agree.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tlhelpers.package_data import package_folder

if TYPE_CHECKING:  # pragma: no cover
    from gensim.models import KeyedVectors

__all__ = [
    "analogy_questions_path",
    "wordsim353_path",
    "simlex999_path",
    "read_analogy_questions",
    "evaluate_analogies",
    "evaluate_word_pairs",
    "evaluate_embeddings",
]

_WORD_PAIR_FILES = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}


def _gensim_test_data(name: str) -> Path:
    return package_folder("gensim", f"gensim's test file {name}", "test", "test_data", name, extra="nlp")


def analogy_questions_path() -> Path:
    """Path of the Google analogy questions (``questions-words.txt``) in gensim's test data."""
    return _gensim_test_data("questions-words.txt")


def wordsim353_path() -> Path:
    """Path of WordSim353 (``wordsim353.tsv``) in gensim's test data."""
    return _gensim_test_data("wordsim353.tsv")


def simlex999_path() -> Path:
    """Path of SimLex999 (``simlex999.txt``) in gensim's test data."""
    return _gensim_test_data("simlex999.txt")


def read_analogy_questions(path: str | os.PathLike[str] | None = None) -> list[tuple[str, list[tuple[str, ...]]]]:
    """The analogy file as ``[(section, [(a, b, c, expected), ...]), ...]`` (words as written in the file).

    A question ``a b c expected`` reads "``a`` is to ``b`` as ``c`` is to ``expected``", solved as
    ``b - a + c``.
    """
    path = Path(path) if path is not None else analogy_questions_path()
    sections: list[tuple[str, list[tuple[str, ...]]]] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            if line.startswith(":"):
                sections.append((line.lstrip(": ").strip(), []))
                continue
            if not sections:
                raise ValueError(f"{path}: a question comes before the first ': section' line")
            words = line.split()
            if len(words) == 4:
                sections[-1][1].append(tuple(words))
    return sections


def _check_restrict(restrict_vocab: int, kv: "KeyedVectors") -> int:
    if not isinstance(restrict_vocab, (int, np.integer)) or isinstance(restrict_vocab, bool) or restrict_vocab < 1:
        raise ValueError(f"restrict_vocab must be a positive integer, got {restrict_vocab!r}")
    return int(min(restrict_vocab, len(kv.index_to_key)))


def _summary(per_section: list[tuple[str, int, int]], oov: int, n_questions: int, restrict_vocab: int,
             engine: str) -> dict[str, Any]:
    correct = sum(c for _, c, _ in per_section)
    total = sum(t for _, _, t in per_section)

    def acc(rows: list[tuple[str, int, int]]) -> float:
        n = sum(t for _, _, t in rows)
        return float(sum(c for _, c, _ in rows) / n) if n else float("nan")

    semantic = [r for r in per_section if not r[0].startswith("gram")]
    syntactic = [r for r in per_section if r[0].startswith("gram")]
    return {
        "accuracy": acc(per_section),
        "semantic_accuracy": acc(semantic),
        "syntactic_accuracy": acc(syntactic),
        "correct": int(correct),
        "evaluated": int(total),
        "skipped_oov": int(oov),
        "questions": int(n_questions),
        "restrict_vocab": int(restrict_vocab),
        "engine": engine,
        "sections": {name: float(c / t) if t else float("nan") for name, c, t in per_section},
    }


def evaluate_analogies(kv: "KeyedVectors", restrict_vocab: int = 30_000, case_insensitive: bool = True,
                       path: str | os.PathLike[str] | None = None, engine: str = "numpy",
                       batch_size: int = 2048) -> dict[str, Any]:
    """Accuracy of ``kv`` on the Google analogy questions, as gensim's ``evaluate_word_analogies`` computes it.

    Only the ``restrict_vocab`` most frequent words take part: a question with any word outside them is
    skipped (counted in ``skipped_oov``), and answers are searched among them, leaving out the three question
    words. ``case_insensitive`` upper-cases words for matching (the file is mixed-case, GloVe lower-case).

    Returns ``{"accuracy", "semantic_accuracy", "syntactic_accuracy", "correct", "evaluated", "skipped_oov",
    "questions", "restrict_vocab", "engine", "sections": {name: accuracy}}``.
    """
    if engine not in ("numpy", "gensim"):
        raise ValueError(f"engine must be 'numpy' or 'gensim', got {engine!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    rv = _check_restrict(restrict_vocab, kv)
    path = Path(path) if path is not None else analogy_questions_path()
    if engine == "gensim":
        return _evaluate_analogies_gensim(kv, rv, case_insensitive, path)

    norm = (lambda w: w.upper()) if case_insensitive else (lambda w: w)
    ok_vocab: dict[str, int] = {}
    groups: dict[str, list[int]] = {}  # normalised word -> every row index in the restricted vocabulary
    for i, word in enumerate(kv.index_to_key[:rv]):
        key = norm(word)
        ok_vocab.setdefault(key, i)  # the most frequent spelling wins, as in gensim
        groups.setdefault(key, []).append(i)

    vectors = np.asarray(kv.vectors[:rv], dtype=np.float32)
    lengths = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(lengths == 0, 1.0, lengths)

    sections = read_analogy_questions(path)
    per_section: list[tuple[str, int, int]] = []
    oov = 0
    n_questions = 0
    for name, questions in sections:
        n_questions += len(questions)
        rows, expected = [], []
        for q in questions:
            a, b, c, e = (norm(w) for w in q)
            if not all(w in ok_vocab for w in (a, b, c, e)):
                oov += 1
                continue
            rows.append((ok_vocab[a], ok_vocab[b], ok_vocab[c], a, b, c))
            expected.append(ok_vocab[e])
        correct = 0
        for start in range(0, len(rows), batch_size):
            chunk = rows[start:start + batch_size]
            ia = np.array([r[0] for r in chunk])
            ib = np.array([r[1] for r in chunk])
            ic = np.array([r[2] for r in chunk])
            target = unit[ib] - unit[ia] + unit[ic]
            scores = target @ unit.T
            for k, r in enumerate(chunk):
                for word in r[3:]:
                    scores[k, groups[word]] = -np.inf
            predicted = scores.argmax(axis=1)
            # A predicted spelling variant counts as its normalised word's most frequent index.
            pred_keys = [ok_vocab[norm(kv.index_to_key[p])] for p in predicted]
            correct += int(sum(p == e for p, e in zip(pred_keys, expected[start:start + batch_size])))
        per_section.append((name, correct, len(rows)))
    return _summary(per_section, oov, n_questions, rv, "numpy")


def _evaluate_analogies_gensim(kv: "KeyedVectors", rv: int, case_insensitive: bool, path: Path) -> dict[str, Any]:
    import logging

    gensim_logger = logging.getLogger("gensim.models.keyedvectors")
    level = gensim_logger.level
    gensim_logger.setLevel(logging.WARNING)  # gensim logs one line per wrong answer at DEBUG, per section at INFO
    try:
        _, sections = kv.evaluate_word_analogies(str(path), restrict_vocab=rv, case_insensitive=case_insensitive)
    finally:
        gensim_logger.setLevel(level)
    per_section = [(s["section"], len(s["correct"]), len(s["correct"]) + len(s["incorrect"]))
                   for s in sections if s["section"] != "Total accuracy"]
    n_questions = sum(len(q) for _, q in read_analogy_questions(path))
    evaluated = sum(t for _, _, t in per_section)
    return _summary(per_section, n_questions - evaluated, n_questions, rv, "gensim")


def evaluate_word_pairs(kv: "KeyedVectors", dataset: str | os.PathLike[str] = "wordsim353",
                        restrict_vocab: int = 300_000, case_insensitive: bool = True) -> dict[str, float]:
    """Correlation of cosine similarity with human ratings, through gensim's ``evaluate_word_pairs``.

    ``dataset`` is ``"wordsim353"``, ``"simlex999"`` or a path to a tab-separated ``word1 word2 score`` file
    (``#`` comments). Pairs with a word outside the ``restrict_vocab`` most frequent words are left out.

    Returns ``{"spearman", "spearman_pvalue", "pearson", "pearson_pvalue", "oov_fraction", "pairs"}``.
    """
    if isinstance(dataset, str) and dataset in _WORD_PAIR_FILES:
        path = _gensim_test_data(_WORD_PAIR_FILES[dataset])
    elif isinstance(dataset, str) and os.path.sep not in dataset and not Path(dataset).is_file():
        raise ValueError(f"dataset must be one of {sorted(_WORD_PAIR_FILES)} or a file path, got {dataset!r}")
    else:
        path = Path(dataset)
        if not path.is_file():
            raise FileNotFoundError(f"word-pair file {path} does not exist")
    rv = _check_restrict(restrict_vocab, kv)
    with open(path, encoding="utf-8") as handle:
        pairs = sum(1 for line in handle if line.strip() and not line.startswith("#"))
    pearson, spearman, oov_percent = kv.evaluate_word_pairs(
        str(path), restrict_vocab=rv, case_insensitive=case_insensitive)
    return {
        "spearman": float(spearman.statistic),
        "spearman_pvalue": float(spearman.pvalue),
        "pearson": float(pearson.statistic),
        "pearson_pvalue": float(pearson.pvalue),
        "oov_fraction": float(oov_percent) / 100.0,
        "pairs": int(pairs),
    }


def evaluate_embeddings(kv: "KeyedVectors", restrict_vocab: int = 30_000) -> dict[str, float]:
    """The three headline numbers: analogy accuracy (``restrict_vocab``), WordSim353 and SimLex999 Spearman."""
    return {
        "analogy_accuracy": evaluate_analogies(kv, restrict_vocab=restrict_vocab)["accuracy"],
        "wordsim353_spearman": evaluate_word_pairs(kv, "wordsim353")["spearman"],
        "simlex999_spearman": evaluate_word_pairs(kv, "simlex999")["spearman"],
    }
