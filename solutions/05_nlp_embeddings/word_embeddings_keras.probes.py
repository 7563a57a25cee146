"""Grading probes for word_embeddings_keras.ipynb (how they are used: tlhelpers/grading/probes.py).

Each probe runs in the student's sandboxed kernel right after the test cell it names and returns plain data (what
the student's code produced); the grader compares it with what the same probe returns on the solution, or, where a
correct answer may differ from the solution's (the Dense layer's random weights), a judge here checks properties of
the returned arrays. ``kv`` is the lecture's GloVe vectors (defined before exercise 2 in every profile).
"""

from __future__ import annotations

import numpy as np

from tlhelpers.grading.probes import compare, probe


@probe("nlp_keras_cosine_tests", rtol=1e-6, atol=1e-9, what="cosine_similarity")
def cosine_similarity_answers():
    import numpy as np

    rng = np.random.default_rng(11)
    pairs = [([1.0, 0.0], [0.0, 2.0]), ([3.0, 4.0], [6.0, 8.0]), ([1.0, 2.0], [-1.0, -2.0])]
    pairs += [(rng.normal(size=50), rng.normal(size=50) * 7.0) for _ in range(5)]
    pairs += [(np.float32([1, 1, 0]), np.float32([1, 0, 0])), (rng.normal(size=300), -rng.normal(size=300))]
    out = []
    for u, v in pairs:
        value = cosine_similarity(u, v)
        is_float = isinstance(value, float)     # a Python float (np.float64 is one); the exercise asks for a float
        out.append({"is a float": is_float, "value": float(value) if is_float else None})
    return out


@probe("nlp_keras_analogy_tests", rtol=1e-4, what="analogy_by_arithmetic")
def analogy_answers():
    out = {}
    for a, b, c, topn in [("king", "man", "woman", 5), ("paris", "france", "germany", 3),
                          ("walked", "walk", "swim", 3), ("tokyo", "japan", "italy", 3)]:
        got = analogy_by_arithmetic(kv, a, b, c, topn=topn)
        out[f"{a} - {b} + {c}, topn={topn}"] = {
            "is a list": isinstance(got, list),
            "(word, cosine) pairs": [[str(word), float(cosine)] for word, cosine in got]}
    return out


@probe("nlp_keras_matrix_tests", rtol=1e-6, atol=1e-7, what="embedding_matrix")
def embedding_matrix_answers():
    import numpy as np

    out = {}
    for name, vocab in [("vocabulary in row order", {"<pad>": 0, "<unk>": 1, "the": 2, "frog": 3, "qzxwvk": 4,
                                                      "croaks": 5}),
                        ("vocabulary in another order", {"<pad>": 0, "<unk>": 1, "zebra": 5, "notawordatallxyz": 2,
                                                         "ran": 4, "of": 3})]:
        matrix = embedding_matrix(vocab, kv)
        array = np.asarray(matrix)
        out[name] = {"shape": list(array.shape), "dtype": str(array.dtype), "rows": array.astype(np.float64)}
    return out


def _judge_classifier(got, expected):
    """Counts, structure and frozen matrix as the solution's; padding ignored; softmax rows (Dense weights random)."""
    if not isinstance(got, dict) or set(got) != set(expected):
        return "the answer has the wrong form"
    for key in ("is a keras.Model", "trainable parameters", "non-trainable parameters", "output shape for 4 sequences",
                "number of Embedding layers"):
        message = compare(got[key], expected[key], path=key)
        if message:
            return message
    message = compare(got["the Embedding's weights"], expected["the Embedding's weights"], rtol=1e-6, atol=1e-7,
                      path="the Embedding's weights (they should be the matrix: keras.initializers.Constant)")
    if message:
        return message
    for key in ("ids 3, 4 then padding: max_len 7 vs the 2 real tokens",
                "ids 5, 9, 2 then padding: max_len 7 vs the 3 real tokens"):
        padded, unpadded = (np.asarray(v, dtype=float) for v in got[key])
        if padded.shape != unpadded.shape or not np.allclose(padded, unpadded, rtol=1e-5, atol=1e-6):
            return f"{key}: the outputs differ; padding must not count in the average (mask_zero=True)"
    sums = np.asarray(got["row sums of the output for 4 random sequences"], dtype=float)
    if sums.shape != (4,) or not np.allclose(sums, 1.0, atol=1e-4):
        return "the outputs should be probabilities (Dense with a softmax): each row should sum to 1"
    return None


@probe("nlp_keras_freeze_tests", judge=_judge_classifier, what="frozen_text_classifier")
def frozen_text_classifier_answers():
    import numpy as np
    import keras
    from keras import layers

    def size(weights):
        return int(sum(np.prod(w.shape) for w in weights))

    matrix = np.random.default_rng(0).normal(size=(30, 8)).astype(np.float32)
    model = frozen_text_classifier(matrix, 5, 7)
    embeddings = [l for l in model.layers if isinstance(l, layers.Embedding)]
    out = {"is a keras.Model": isinstance(model, keras.Model),
           "trainable parameters": size(model.trainable_weights),
           "non-trainable parameters": size(model.non_trainable_weights),
           "output shape for 4 sequences": list(np.shape(model(np.zeros((4, 7), dtype="int32")))),
           "number of Embedding layers": len(embeddings),
           "the Embedding's weights": np.asarray(embeddings[0].embeddings) if embeddings else None}
    for ids, n in (([3, 4], 2), ([5, 9, 2], 3)):
        padded = np.array([ids + [0] * (7 - n)], dtype="int32")
        short = frozen_text_classifier(matrix, 5, n)
        short.set_weights(model.get_weights())
        key = f"ids {', '.join(map(str, ids))} then padding: max_len 7 vs the {n} real tokens"
        out[key] = [np.asarray(model(padded)), np.asarray(short(padded[:, :n]))]
    ids = np.random.default_rng(1).integers(1, 30, size=(4, 7)).astype("int32")
    out["row sums of the output for 4 random sequences"] = np.asarray(model(ids)).sum(axis=1)
    return out
