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
