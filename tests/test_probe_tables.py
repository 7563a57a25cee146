"""Answer tables per exercise (issue 17, finding 1; issue 16, visible tests): each answer graded by the notebook's
real probes and judges, as the grader sends them to the kernel, in-process (tests/probe_tables.py).

* wrong but plausible: loses exactly its exercise's points, and fails the VISIBLE test too;
* forged (constants the exercise text gives away, values that merely look right, or reaching into the probe's
  frame): 0 for that exercise;
* right but different (another algorithm, float32, lists, another legitimate use of randomness): full points, and
  the visible test passes.

The end-to-end attacks through the sandbox are in tests/test_grading_forgery.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from probe_tables import Exercises, check_table

# --- 01 domains and tasks -------------------------------------------------------------------------------------------

SETUP_01 = """
import numpy as np
from tlhelpers import checks, shift
_r = np.random.default_rng(5)
X_ref = _r.uniform(0, 1, (60, 28, 28)).astype(np.float32)
X_target = np.clip(X_ref + _r.normal(0, 0.2, X_ref.shape), 0, 1).astype(np.float32)
test_labels = np.repeat(np.arange(10), 120)
"""

PAD = [
    ("float32 arithmetic", "right", "def proxy_a_distance_from_error(err):\n"
     "    e = np.float32(err)\n    return float(max(np.float32(0), np.float32(2) * (np.float32(1) - 2 * e)))"),
    ("min/max instead of clip", "right",
     "def proxy_a_distance_from_error(err):\n    return float(min(2.0, max(0.0, 2 - 4 * err)))"),
    ("not clipped at chance", "wrong", "def proxy_a_distance_from_error(err):\n    return float(2 * (1 - 2 * err))"),
    ("absolute value instead of clipping", "wrong",
     "def proxy_a_distance_from_error(err):\n    return float(abs(2 * (1 - 2 * err)))"),
    ("1 - 2 err, the factor 2 forgotten", "wrong",
     "def proxy_a_distance_from_error(err):\n    return float(max(0.0, 1 - 2 * err))"),
    ("the values the text gives (0.5 -> 0, 0 -> 2, 0.25 -> 1) and nothing else", "forged",
     "def proxy_a_distance_from_error(err):\n    return {0.5: 0.0, 0.0: 2.0, 0.25: 1.0}.get(err, 0.0)"),
]

MMD = [
    ("float32 throughout (issue 17: 0.0295639 vs 0.0295641)", "right",
     "def mmd_rbf_squared(X, Y, gamma):\n    X = np.asarray(X, np.float32); Y = np.asarray(Y, np.float32)\n"
     "    def k(A, B):\n        d = ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)\n"
     "        return np.exp(np.float32(-gamma) * d)\n"
     "    return float(k(X, X).mean() + k(Y, Y).mean() - 2 * k(X, Y).mean())"),
    ("scipy cdist, another algorithm", "right",
     "def mmd_rbf_squared(X, Y, gamma):\n    from scipy.spatial.distance import cdist\n"
     "    X = np.asarray(X, float).reshape(len(X), -1); Y = np.asarray(Y, float).reshape(len(Y), -1)\n"
     "    k = lambda A, B: np.exp(-gamma * cdist(A, B, 'sqeuclidean'))\n"
     "    return float(k(X, X).mean() + k(Y, Y).mean() - 2 * k(X, Y).mean())"),
    ("the unbiased estimate (diagonal left out)", "wrong",
     "def mmd_rbf_squared(X, Y, gamma):\n    X = np.asarray(X, float); Y = np.asarray(Y, float)\n"
     "    def k(A, B):\n        return np.exp(-gamma * ((A[:, None] - B[None]) ** 2).sum(-1))\n"
     "    m, n = len(X), len(Y)\n    kxx, kyy = k(X, X), k(Y, Y)\n"
     "    xx = (kxx.sum() - np.trace(kxx)) / max(m * (m - 1), 1)\n"
     "    yy = (kyy.sum() - np.trace(kyy)) / max(n * (n - 1), 1)\n"
     "    return float(xx + yy - 2 * k(X, Y).mean())"),
    ("the cross term counted once", "wrong",
     "def mmd_rbf_squared(X, Y, gamma):\n    X = np.asarray(X, float); Y = np.asarray(Y, float)\n"
     "    k = lambda A, B: np.exp(-gamma * ((A[:, None] - B[None]) ** 2).sum(-1))\n"
     "    return float(k(X, X).mean() + k(Y, Y).mean() - k(X, Y).mean() - 1 + 1) if False else "
     "float(k(X, X).mean() + k(Y, Y).mean() - k(X, Y).mean())"),
    ("distance not squared", "wrong",
     "def mmd_rbf_squared(X, Y, gamma):\n    X = np.asarray(X, float); Y = np.asarray(Y, float)\n"
     "    k = lambda A, B: np.exp(-gamma * np.sqrt(((A[:, None] - B[None]) ** 2).sum(-1)))\n"
     "    return float(k(X, X).mean() + k(Y, Y).mean() - 2 * k(X, Y).mean())"),
    ("the text's one-point value and 0 for identical samples, else the mean difference", "forged",
     "def mmd_rbf_squared(X, Y, gamma):\n    X = np.asarray(X, float); Y = np.asarray(Y, float)\n"
     "    if X.shape == Y.shape and np.array_equal(X, Y):\n        return 0.0\n"
     "    if X.size == 1 and Y.size == 1:\n        return float(2 - 2 * np.exp(-gamma * (X - Y).item() ** 2))\n"
     "    return float(((X.mean(0) - Y.mean(0)) ** 2).sum())"),
]

_DRAW = ("def label_shifted_indices(y, priors, n, random_state=None):\n"
         "    y = np.asarray(y); priors = np.asarray(priors, dtype=np.float64)\n"
         "    rng = np.random.default_rng(random_state)\n"
         "    exact = priors * n\n    counts = np.floor(exact).astype(int)\n"
         "    counts[np.argsort(-(exact - counts), kind='stable')[:n - counts.sum()]] += 1\n"
         "    picked = []\n    for c, count in enumerate(counts):\n"
         "        members = np.flatnonzero(y == c)\n"
         "        if len(members) < count:\n            raise ValueError('too few')\n"
         "        PICK\n"
         "    indices = np.concatenate(picked).astype(int)\n    SHUFFLE\n    return indices\n")
LABEL_SHIFT = [
    ("rng.permutation then the first count", "right",
     _DRAW.replace("PICK", "picked.append(rng.permutation(members)[:count])").replace("SHUFFLE", "rng.shuffle(indices)")),
    ("the legacy RandomState", "right",
     _DRAW.replace("rng = np.random.default_rng(random_state)", "rng = np.random.RandomState(random_state)")
     .replace("PICK", "picked.append(rng.choice(members, size=count, replace=False))")
     .replace("SHUFFLE", "rng.shuffle(indices)")),
    ("a deterministic 'random' subset: the first count of each class, shuffled", "wrong",
     _DRAW.replace("PICK", "picked.append(members[:count])").replace("SHUFFLE", "rng.shuffle(indices)")),
    ("drawn with replacement", "wrong",
     _DRAW.replace("PICK", "picked.append(rng.choice(members, size=count, replace=True))")
     .replace("SHUFFLE", "rng.shuffle(indices)")),
    ("priors rounded down (the subset falls short of n)", "wrong",
     _DRAW.replace("    counts[np.argsort(-(exact - counts), kind='stable')[:n - counts.sum()]] += 1\n", "")
     .replace("PICK", "picked.append(rng.choice(members, size=count, replace=False))")
     .replace("SHUFFLE", "rng.shuffle(indices)")),
    ("the random_state ignored (a fresh generator each call)", "wrong",
     _DRAW.replace("default_rng(random_state)", "default_rng()")
     .replace("PICK", "picked.append(rng.choice(members, size=count, replace=False))")
     .replace("SHUFFLE", "rng.shuffle(indices)")),
    ("empty subsets", "forged", "def label_shifted_indices(y, priors, n, random_state=None):\n"
     "    return np.array([], dtype=int)"),
    ("degenerate: the first n indices", "forged", "def label_shifted_indices(y, priors, n, random_state=None):\n"
     "    return np.arange(n)"),
    ("reaching into the probe: its requests emptied through the caller's frame", "forged",
     "import sys\ndef label_shifted_indices(y, priors, n, random_state=None):\n"
     "    f = sys._getframe(1)\n    while f is not None:\n"
     "        for name in ('cases', 'draws'):\n"
     "            if isinstance(f.f_locals.get(name), list):\n                f.f_locals[name].clear()\n"
     "        f = f.f_back\n"
     "    if priors[0] == 0.1:\n        raise ValueError('too few')\n    return np.arange(n)"),
]

CASES = [
    ("one kind of shift everywhere", "forged", "case_names = {k: 'marginal' for k in ['scanner_upgrade', "
     "'thermal_camera', 'spam_policy', 'flu_season', 'night_shift']}"),
]


@pytest.fixture(scope="module")
def ex01():
    return Exercises("01_domains_and_tasks/domains_and_tasks.ipynb", SETUP_01)


@pytest.mark.parametrize("answer_id,test_id,table", [
    ("pad_from_error", "pad_from_error_tests", PAD),
    ("mmd_rbf_squared", "mmd_rbf_squared_tests", MMD),
    ("label_shifted_indices", "label_shifted_indices_tests", LABEL_SHIFT),
    ("name_the_case", "name_the_case_tests", CASES),
], ids=["pad", "mmd", "label_shift", "cases"])
def test_01_answer_table(ex01, answer_id, test_id, table):
    assert ex01.grade() == ex01.points, "the solution must get every point"
    problems = check_table(ex01, answer_id, test_id, table)
    assert not problems, "\n".join(problems)


# --- 05 word embeddings (Keras) -------------------------------------------------------------------------------------

SETUP_05_KERAS = """
import numpy as np
import keras
from keras import layers
from gensim.models import KeyedVectors
from tlhelpers import checks, nlp
_words = ["king", "man", "woman", "queen", "paris", "france", "germany", "berlin", "walked", "walk", "swim", "swam",
          "tokyo", "japan", "italy", "rome", "the", "frog", "croaks", "zebra", "ran", "of"]
_words += [f"filler{i}" for i in range(200)]
kv = KeyedVectors(50)
kv.add_vectors(_words, np.random.default_rng(3).normal(size=(len(_words), 50)).astype(np.float32))
"""

_CLASSIFIER = ("def frozen_text_classifier(matrix, n_classes, max_len):\n"
               "    inputs = keras.Input(shape=(max_len,), dtype='int32')\n"
               "    embedding = layers.Embedding(matrix.shape[0], matrix.shape[1], mask_zero=MASK, trainable=FROZEN,\n"
               "                                 embeddings_initializer=keras.initializers.Constant(matrix))\n"
               "    x = layers.GlobalAveragePooling1D()(embedding(inputs))\n"
               "    outputs = HEAD\n"
               "    return keras.Model(inputs, outputs)\n")


def _classifier(mask="True", frozen="False", head="layers.Dense(n_classes, activation='softmax')(x)"):
    return _CLASSIFIER.replace("MASK", mask).replace("FROZEN", frozen).replace("HEAD", head)


FROZEN_CLASSIFIER = [
    ("a Sequential model", "right",
     "def frozen_text_classifier(matrix, n_classes, max_len):\n"
     "    return keras.Sequential([keras.Input(shape=(max_len,), dtype='int32'),\n"
     "        layers.Embedding(*matrix.shape, mask_zero=True, trainable=False,\n"
     "                         embeddings_initializer=keras.initializers.Constant(matrix)),\n"
     "        layers.GlobalAveragePooling1D(), layers.Dense(n_classes, activation='softmax')])"),
    ("the masked mean written out with keras.ops", "right",
     "def frozen_text_classifier(matrix, n_classes, max_len):\n"
     "    from keras import ops\n    inputs = keras.Input(shape=(max_len,), dtype='int32')\n"
     "    e = layers.Embedding(*matrix.shape, trainable=False,\n"
     "                         embeddings_initializer=keras.initializers.Constant(matrix))(inputs)\n"
     "    real = ops.expand_dims(ops.cast(ops.not_equal(inputs, 0), 'float32'), -1)\n"
     "    x = ops.sum(e * real, axis=1) / ops.maximum(ops.sum(real, axis=1), 1.0)\n"
     "    return keras.Model(inputs, layers.Dense(n_classes, activation='softmax')(x))"),
    ("padding averaged in (no mask_zero)", "wrong", _classifier(mask="False")),
    ("padding averaged in, behind a zero-initialised Dense", "wrong",
     _classifier(mask="False", head="layers.Dense(n_classes, activation='softmax', kernel_initializer='zeros')(x)")),
    ("softmax applied twice", "wrong",
     _classifier(head="layers.Activation('softmax')(layers.Dense(n_classes, activation='softmax')(x))")),
    ("ReLU divided by its sum instead of softmax", "wrong",
     _classifier(head="layers.Lambda(lambda z: z / (keras.ops.sum(z, axis=1, keepdims=True) + 1e-9))("
                      "layers.Dense(n_classes, activation='relu')(x))")),
    ("the Embedding left trainable", "wrong", _classifier(frozen="True")),
    ("the text's parameter counts and shape, with uniform outputs", "forged",
     _classifier(head="layers.Lambda(lambda z: z * 0.0 + 1.0 / n_classes)("
                      "layers.Dense(n_classes, activation='softmax')(x))")),
]

COSINE = [
    ("float32 arithmetic", "right", "def cosine_similarity(u, v):\n"
     "    u = np.asarray(u, np.float32); v = np.asarray(v, np.float32)\n"
     "    return float(u @ v / np.sqrt((u @ u) * (v @ v)))"),
    ("pure Python lists", "right", "def cosine_similarity(u, v):\n    u, v = list(map(float, u)), list(map(float, v))\n"
     "    dot = sum(a * b for a, b in zip(u, v))\n"
     "    return dot / (sum(a * a for a in u) ** 0.5 * sum(b * b for b in v) ** 0.5)"),
    ("the dot product, not normalised", "wrong", "def cosine_similarity(u, v):\n"
     "    return float(np.dot(u, v))"),
    ("normalised by one vector only", "wrong", "def cosine_similarity(u, v):\n"
     "    return float(np.dot(u, v) / np.linalg.norm(u) ** 2)"),
]


@pytest.fixture(scope="module")
def ex05k():
    return Exercises("05_nlp_embeddings/word_embeddings_keras.ipynb", SETUP_05_KERAS)


@pytest.mark.slow
@pytest.mark.parametrize("answer_id,test_id,table", [
    ("nlp_keras_freeze", "nlp_keras_freeze_tests", FROZEN_CLASSIFIER),
    ("nlp_keras_cosine", "nlp_keras_cosine_tests", COSINE),
], ids=["frozen_classifier", "cosine"])
def test_05_keras_answer_table(ex05k, answer_id, test_id, table):
    assert ex05k.grade() == ex05k.points, "the solution must get every point"
    problems = check_table(ex05k, answer_id, test_id, table)
    assert not problems, "\n".join(problems)


# --- 05 MiniLM (PyTorch) --------------------------------------------------------------------------------------------

SETUP_05_TORCH = """
import numpy as np
import torch
from torch import nn
from tlhelpers import checks, nlp
"""

_HEAD = ("class ClassificationHead(nn.Module):\n"
         "    def __init__(self, hidden_size, n_classes, dropout=0.1):\n"
         "        super().__init__()\n        self.dropout = nn.Dropout(RATE)\n"
         "        self.linear = nn.Linear(hidden_size, n_classes)\n"
         "    def forward(self, pooled):\n        return FORWARD\n")


def _head(rate="dropout", forward="self.linear(self.dropout(pooled))"):
    return _HEAD.replace("RATE", rate).replace("FORWARD", forward)


HEAD = [
    ("nn.Sequential(Dropout, Linear)", "right",
     "class ClassificationHead(nn.Module):\n    def __init__(self, hidden_size, n_classes, dropout=0.1):\n"
     "        super().__init__()\n"
     "        self.net = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden_size, n_classes))\n"
     "    def forward(self, pooled):\n        return self.net(pooled)\n"),
    ("functional dropout", "right",
     _head(forward="self.linear(nn.functional.dropout(pooled, self.dropout.p, self.training))")),
    ("dropout after the linear layer", "wrong", _head(forward="self.dropout(self.linear(pooled))")),
    ("dropout at 90 %", "wrong", _head(rate="0.9")),
    ("dropout replaced by noise", "wrong",
     _head(forward="self.linear(pooled + (0.1 * torch.randn_like(pooled) if self.training else 0))")),
    ("no dropout at all", "wrong", _head(forward="self.linear(pooled)")),
    ("the text's parameter count and shape, with zero outputs", "forged",
     _head(forward="torch.zeros(pooled.shape[0], self.linear.out_features)")),
]


@pytest.fixture(scope="module")
def ex05t():
    return Exercises("05_nlp_embeddings/minilm_pytorch.ipynb", SETUP_05_TORCH)


@pytest.mark.parametrize("answer_id,test_id,table", [("nlp_torch_head", "nlp_torch_head_tests", HEAD)], ids=["head"])
def test_05_minilm_answer_table(ex05t, answer_id, test_id, table):
    assert ex05t.grade() == ex05t.points, "the solution must get every point"
    problems = check_table(ex05t, answer_id, test_id, table)
    assert not problems, "\n".join(problems)


# --- 04 strategy matrix ---------------------------------------------------------------------------------------------

SETUP_04 = """
import numpy as np
import torch
from torch import nn
from tlhelpers import checks
from tlhelpers import strategy as st
from tlhelpers import strategy_experiments as sx
"""

_NEGATIVE = ("def is_negative_transfer(transfer_accs, scratch_accs, confidence=0.95):\n"
             "    from scipy import stats\n"
             "    t = np.asarray(transfer_accs, dtype=float); s = np.asarray(scratch_accs, dtype=float)\n"
             "    if t.shape != s.shape or len(t) < 2:\n        raise ValueError('unpaired')\n"
             "    BODY\n")
NEGATIVE = [
    ("scipy's paired t-test, one-sided p", "right",
     _NEGATIVE.replace("BODY", "d = t - s\n    if np.all(d == d[0]):\n        return bool(d[0] < 0)\n"
                               "    r = stats.ttest_rel(t, s, alternative='less')\n"
                               "    return bool(r.pvalue < (1 - confidence) / 2)")),
    ("float32 lists", "right",
     _NEGATIVE.replace("BODY", "d = (t - s).astype(np.float32)\n"
                               "    q = stats.t.ppf(0.5 + confidence / 2, len(d) - 1)\n"
                               "    return bool(d.mean() + q * d.std(ddof=1) / np.sqrt(len(d)) < 0)")),
    ("the old unpaired two-standard-error rule", "wrong",
     _NEGATIVE.replace("BODY", "se = np.sqrt(t.var(ddof=1) / len(t) + s.var(ddof=1) / len(s))\n"
                               "    return bool(s.mean() - t.mean() > 2 * se)")),
    ("paired, but the normal quantile 1.96", "wrong",
     _NEGATIVE.replace("BODY", "d = t - s\n    return bool(d.mean() + 1.96 * d.std(ddof=1) / np.sqrt(len(d)) < 0)")),
    ("paired, std with ddof=0", "wrong",
     _NEGATIVE.replace("BODY", "d = t - s\n    q = stats.t.ppf(0.5 + confidence / 2, len(d) - 1)\n"
                               "    return bool(d.mean() + q * d.std() / np.sqrt(len(d)) < 0)")),
    ("any loss on average", "forged", _NEGATIVE.replace("BODY", "return bool(t.mean() < s.mean())")),
]

WINNER = [
    ("float32 means (torch)", "right",
     "def quadrant_winner(matrix, size, similarity):\n    cell = matrix[(size, similarity)]\n"
     "    means = {s: float(torch.tensor(cell[s], dtype=torch.float32).mean()) for s in st.STRATEGIES if s in cell}\n"
     "    ranked = sorted(means, key=lambda s: (-means[s], st.STRATEGIES.index(s)))\n"
     "    return ranked[0], means[ranked[0]] - means[ranked[1]]"),
    ("the median instead of the mean", "wrong",
     "def quadrant_winner(matrix, size, similarity):\n    cell = matrix[(size, similarity)]\n"
     "    ranked = sorted((s for s in st.STRATEGIES if s in cell), key=lambda s: -float(np.median(cell[s])))\n"
     "    return ranked[0], float(np.median(cell[ranked[0]]) - np.median(cell[ranked[1]]))"),
    ("the margin over the worst strategy", "wrong",
     "def quadrant_winner(matrix, size, similarity):\n    cell = matrix[(size, similarity)]\n"
     "    ranked = sorted((s for s in st.STRATEGIES if s in cell), key=lambda s: -float(np.mean(cell[s])))\n"
     "    return ranked[0], float(np.mean(cell[ranked[0]]) - np.mean(cell[ranked[-1]]))"),
    ("the toy quadrant's answer from the text", "forged",
     "def quadrant_winner(matrix, size, similarity):\n    return 'feature_extraction', 0.01"),
]


@pytest.fixture(scope="module")
def ex04():
    return Exercises("04_strategy_matrix/strategy_matrix_pytorch.ipynb", SETUP_04)


@pytest.mark.parametrize("answer_id,test_id,table", [
    ("sm_torch_negative", "sm_torch_negative_tests", NEGATIVE),
    ("sm_torch_winner", "sm_torch_winner_tests", WINNER),
], ids=["negative_transfer", "winner"])
def test_04_answer_table(ex04, answer_id, test_id, table):
    assert ex04.grade() == ex04.points, "the solution must get every point"
    problems = check_table(ex04, answer_id, test_id, table)
    assert not problems, "\n".join(problems)


# --- the registry's wrong answers (the round-trip test's) fail the visible tests too (issue 16) ----------------------

# A concept question's visible test checks the form only: checking the answer would give it away.
CONCEPT_QUESTIONS = {"name_the_case"}
SETUPS = {"01_domains_and_tasks/domains_and_tasks.ipynb": SETUP_01,
          "04_strategy_matrix/strategy_matrix_pytorch.ipynb": SETUP_04,
          "05_nlp_embeddings/minilm_pytorch.ipynb": SETUP_05_TORCH,
          "05_nlp_embeddings/word_embeddings_keras.ipynb": SETUP_05_KERAS}


@pytest.mark.slow
@pytest.mark.parametrize("notebook", sorted(SETUPS))
def test_registry_wrong_answers_fail_the_visible_test(notebook):
    from tlhelpers.registry import load_registry

    spec = next(s for s in load_registry() if s.path.as_posix() == f"solutions/{notebook}")
    wrong = spec.grading["wrong_answer"]
    ex = Exercises(notebook, SETUPS[notebook])
    tests = [t for t in ex.tests if t.startswith(wrong["grade_id"]) and t != wrong["grade_id"]]
    assert tests, f"no test cell for {wrong['grade_id']}"
    for test_id in tests:
        seen = ex.visible(test_id, {wrong["grade_id"]: wrong["source"]})
        assert (seen is None) == (wrong["grade_id"] in CONCEPT_QUESTIONS), f"{notebook}: {test_id}: {seen}"
