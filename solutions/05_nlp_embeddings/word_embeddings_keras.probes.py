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


def _classifier_inputs(seed):
    """What the probe feeds the student's classifier, from the grader's seed: a matrix, the Dense layer's weights (set
    by the probe, so a zero or uniform initialisation cannot hide a wrong model), and padded id sequences."""
    import numpy as np
    rng = np.random.default_rng(seed)
    vocab, dim, classes, max_len = int(rng.integers(20, 40)), int(rng.integers(4, 9)), int(rng.integers(3, 6)), 7
    matrix = rng.normal(size=(vocab, dim)).astype(np.float32)
    kernel = rng.normal(0.0, 1.5, size=(dim, classes)).astype(np.float32)
    bias = rng.normal(0.0, 0.5, size=classes).astype(np.float32)
    ids = rng.integers(1, vocab, size=(6, max_len)).astype("int32")
    for row, length in enumerate(rng.integers(1, max_len, size=6)):
        ids[row, length:] = 0                   # padding after 1..6 real tokens
    return matrix, classes, max_len, kernel, bias, ids


def _judge_classifier(got, expected, seed):
    """On a matrix, Dense weights and sequences drawn from the grader's seed: only the Dense layer trainable (its
    parameter count), the matrix frozen (its count), and the outputs those of softmax(masked mean of the rows @ W + b),
    computed here in float64: padding averaged in, a second softmax or another normalisation all differ."""
    matrix, classes, _, kernel, bias, ids = _classifier_inputs(seed)
    if not isinstance(got, dict) or set(got) != set(expected):
        return "the answer has the wrong form"
    if got["is a keras.Model"] is not True:
        return "frozen_text_classifier should return a keras.Model"
    if got["Dense layers"] != 1:
        return f"the model should end in one Dense layer (softmax); it has {got['Dense layers']}"
    for key, want in (("trainable parameters", kernel.size + bias.size), ("non-trainable parameters", matrix.size)):
        message = compare(got[key], int(want), path=key, reveal=False)
        if message:
            return message + " (only the Dense layer may be trainable: the Embedding is frozen)"
    real = ids != 0
    pooled = (matrix.astype(np.float64)[ids] * real[..., None]).sum(axis=1) / real.sum(axis=1, keepdims=True)
    logits = pooled @ kernel.astype(np.float64) + bias
    want = np.exp(logits - logits.max(axis=1, keepdims=True))
    want /= want.sum(axis=1, keepdims=True)
    outputs = np.asarray(got["outputs for padded sequences"], dtype=float)
    if outputs.shape != want.shape:
        return f"the output for 6 sequences has shape {outputs.shape}, not (6, {classes})"
    if not np.allclose(outputs, want, rtol=1e-4, atol=1e-5):
        return ("the outputs are not softmax(Dense(average of the real tokens' vectors)): padding must not count in "
                "the average (mask_zero=True), and the Dense layer applies one softmax")
    return None


@probe("nlp_keras_freeze_tests", judge=_judge_classifier, what="frozen_text_classifier", uses=(_classifier_inputs,))
def frozen_text_classifier_answers(seed):
    import numpy as np
    import keras
    from keras import layers

    def size(weights):
        return int(sum(np.prod(w.shape) for w in weights))

    matrix, classes, max_len, kernel, bias, ids = _classifier_inputs(seed)
    model = frozen_text_classifier(matrix.copy(), classes, max_len)
    dense = [l for l in model.layers if isinstance(l, layers.Dense)]
    out = {"is a keras.Model": isinstance(model, keras.Model), "Dense layers": len(dense),
           "trainable parameters": size(model.trainable_weights),
           "non-trainable parameters": size(model.non_trainable_weights), "outputs for padded sequences": None}
    if len(dense) == 1:
        dense[0].set_weights([kernel, bias])
        out["outputs for padded sequences"] = np.asarray(model(ids))
    return out
