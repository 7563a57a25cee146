"""Assignment 06's exercises against a table of answers, without a kernel or a sandbox (fast).

Each answer replaces one answer cell of solutions/06_domain_adaptation/domain_adaptation_pytorch.ipynb; the
visible part of its test cell (what the student runs) and the grader's probe for that cell (judged in this process
against the probe's value on the solution, as tlhelpers.grading does) then decide:

* wrong-but-plausible answers fail the visible test AND lose that exercise's points;
* answers that forge with values from the exercise text lose its points;
* right-but-different answers (another algorithm, float32, lists, the course library) pass both.

The exercises are independent except that Exercise 4 calls Exercise 3's ``select_confident``: Exercise 4's rows run
with the solution's ``select_confident``. (The sandboxed round trip, tests/test_grading_roundtrip.py, checks the
registry's wrong answer end to end.)
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
import pytest

from probe_tables import run_probe
from tlhelpers.grading.probes import judge, load_probes

pytestmark = pytest.mark.slow   # about 30 s in all: every answer runs its probe

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "solutions" / "06_domain_adaptation" / "domain_adaptation_pytorch.ipynb"
PRELUDE = """
import numpy as np
import torch
from torch import nn
from sklearn.linear_model import LogisticRegression
from tlhelpers import adapt, checks
"""
POINTS = {"da_coral_tests": 3, "da_grl_tests": 3, "da_select_tests": 2, "da_self_train_tests": 3}
OWNER = {"da_coral": "da_coral_tests", "da_grl": "da_grl_tests", "da_select": "da_select_tests",
         "da_self_train": "da_self_train_tests"}


def _cells() -> dict[str, str]:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells if "nbgrader" in c.metadata}


CELLS = _cells()
PROBES = {p.test_grade_id: p for p in load_probes(NOTEBOOK.with_name(NOTEBOOK.stem + ".probes.py"))}


def _namespace(replace: dict[str, str]) -> dict:
    ns: dict = {}
    exec(PRELUDE, ns)
    for answer_id in OWNER:
        exec(replace.get(answer_id, CELLS[answer_id]), ns)
    return ns


def _visible(test_id: str) -> str:
    return CELLS[test_id].split("### BEGIN HIDDEN TESTS")[0]


def _probe_report(ns: dict, test_id: str) -> dict:
    """The probe of ``test_id`` run as the grader's own probe cell (``kernel_call``), its report read back."""
    return run_probe(ns, PROBES[test_id])


@pytest.fixture(scope="module")
def keys() -> dict:
    ns = _namespace({})
    return {test_id: _probe_report(ns, test_id)["value"] for test_id in POINTS}


def _score(answer_id: str, source: str, keys: dict) -> tuple[bool, float]:
    """(visible test passed, points from the probe) for one answer cell replaced by ``source``."""
    test_id = OWNER[answer_id]
    ns = _namespace({answer_id: textwrap.dedent(source)})
    try:
        exec(_visible(test_id), ns)
        visible = True
    except Exception:  # noqa: BLE001 - AnswerError, or whatever the wrong answer raises
        visible = False
    message = judge(PROBES[test_id], _probe_report(_namespace({answer_id: textwrap.dedent(source)}), test_id),
                    keys[test_id])
    return visible, POINTS[test_id] if message is None else 0.0


CORAL_HEAD = """
def coral_transform(X_source, X_target, eps=1.0):
    X_source = np.asarray(X_source, dtype=np.float64); X_target = np.asarray(X_target, dtype=np.float64)
    d = X_source.shape[1]
    def power(C, p):
        values, vectors = np.linalg.eigh(C)
        return (vectors * values ** p) @ vectors.T
    C_s = np.cov(X_source, rowvar=False).reshape(d, d) + eps * np.eye(d)
    C_t = np.cov(X_target, rowvar=False).reshape(d, d) + eps * np.eye(d)
"""
GRL_CLASS = """
class _Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lambda_):
        ctx.lambda_ = lambda_
        return x.view_as(x)
    @staticmethod
    def backward(ctx, grad_output):
        return {backward}, None
def grad_reverse(x, lambda_=1.0):
    return _Reverse.apply(x, float(lambda_))
"""
SELF_TRAIN = """
def self_train(X_source, y_source, X_target, threshold=0.9, rounds=3, C=0.05):
    model = LogisticRegression(C=C, max_iter=2000).fit(X_source, y_source)
{body}
    return model
"""

WRONG = {   # wrong-but-plausible: the visible test fails and the exercise's points are lost
    ("da_coral", "re-colour first, then whiten (the registry's wrong answer too)"): CORAL_HEAD + "    return X_source @ power(C_t, 0.5) @ power(C_s, -0.5)\n",
    ("da_coral", "inverse instead of inverse square root"):
        CORAL_HEAD + "    return X_source @ np.linalg.inv(C_s) @ power(C_t, 0.5)\n",
    ("da_coral", "whitening only"): CORAL_HEAD + "    return X_source @ power(C_s, -0.5)\n",
    ("da_coral", "eps ignored"): CORAL_HEAD.replace("+ eps * np.eye(d)", "+ 1e-9 * np.eye(d)")
        + "    return X_source @ power(C_s, -0.5) @ power(C_t, 0.5)\n",
    ("da_coral", "source centred and moved to the target mean"):
        CORAL_HEAD + "    return (X_source - X_source.mean(0)) @ power(C_s, -0.5) @ power(C_t, 0.5) + X_target.mean(0)\n",
    ("da_coral", "Cholesky factors instead of symmetric roots"): CORAL_HEAD
        + "    return X_source @ np.linalg.inv(np.linalg.cholesky(C_s)).T @ np.linalg.cholesky(C_t).T\n",
    ("da_coral", "covariance of the examples (rowvar left True)"): CORAL_HEAD.replace("rowvar=False", "rowvar=True")
        + "    return X_source @ power(C_s, -0.5) @ power(C_t, 0.5)\n",
    ("da_grl", "negated forward"): "def grad_reverse(x, lambda_=1.0):\n    return -lambda_ * x\n",
    ("da_grl", "backward negated, not scaled"): GRL_CLASS.format(backward="-grad_output"),
    ("da_grl", "backward scaled, not negated"): GRL_CLASS.format(backward="ctx.lambda_ * grad_output"),
    ("da_grl", "plain identity"): "def grad_reverse(x, lambda_=1.0):\n    return x.view_as(x)\n",
    ("da_grl", "detached (no gradient at all)"): "def grad_reverse(x, lambda_=1.0):\n    return x.detach()\n",
    ("da_select", "strictly greater than the threshold"): """
        def select_confident(probabilities, threshold):
            p = np.asarray(probabilities)
            i = np.flatnonzero(p.max(axis=1) > threshold)
            return i, p[i].argmax(axis=1)
        """,
    ("da_select", "a boolean mask instead of indices"): """
        def select_confident(probabilities, threshold):
            p = np.asarray(probabilities)
            keep = p.max(axis=1) >= threshold
            return keep, p[keep].argmax(axis=1)
        """,
    ("da_select", "the confidence instead of the label"): """
        def select_confident(probabilities, threshold):
            p = np.asarray(probabilities)
            i = np.flatnonzero(p.max(axis=1) >= threshold)
            return i, p[i].max(axis=1)
        """,
    ("da_select", "argmax over the wrong axis"): """
        def select_confident(probabilities, threshold):
            p = np.asarray(probabilities)
            i = np.flatnonzero(p.max(axis=1) >= threshold)
            return i, p.argmax(axis=0)[:len(i)]
        """,
    ("da_self_train", "never retrains (source only)"): SELF_TRAIN.format(body="    pass"),
    ("da_self_train", "one round whatever `rounds` says"): SELF_TRAIN.format(body="""\
    indices, pseudo = select_confident(model.predict_proba(X_target), threshold)
    model = LogisticRegression(C=C, max_iter=2000).fit(np.vstack([X_source, X_target[indices]]),
                                                       np.concatenate([y_source, pseudo]))"""),
    ("da_self_train", "pseudo-labels from the source-only model every round"): SELF_TRAIN.format(body="""\
    first = model
    for _ in range(rounds):
        indices, pseudo = select_confident(first.predict_proba(X_target), threshold)
        model = LogisticRegression(C=C, max_iter=2000).fit(np.vstack([X_source, X_target[indices]]),
                                                           np.concatenate([y_source, pseudo]))"""),
}

FORGED = {  # values from the exercise text or constants: the probe's hidden inputs make them worthless
    ("da_coral", "the input returned unchanged"): "def coral_transform(X_source, X_target, eps=1.0):\n"
                                                  "    return np.asarray(X_source, dtype=float)\n",
    ("da_select", "the visible test's answer as constants"):
        "def select_confident(probabilities, threshold):\n    return np.array([0, 2, 3]), np.array([0, 2, 1])\n",
    ("da_grl", "forward right, gradient hard-coded to -0.5"): """
        class _Half(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x.view_as(x)
            @staticmethod
            def backward(ctx, g):
                return -0.5 * g
        def grad_reverse(x, lambda_=1.0):
            return _Half.apply(x)
        """,
}

RIGHT = {   # right but different: full points
    ("da_coral", "the course library"): "def coral_transform(X_source, X_target, eps=1.0):\n"
                                        "    return adapt.coral(X_source, X_target, regularization=eps)\n",
    ("da_coral", "float32 arithmetic with scipy's sqrtm"): """
        def coral_transform(X_source, X_target, eps=1.0):
            import scipy.linalg
            Xs = np.asarray(X_source, dtype=np.float32); Xt = np.asarray(X_target, dtype=np.float32)
            d = Xs.shape[1]
            Cs = np.atleast_2d(np.cov(Xs, rowvar=False)).astype(np.float32) + np.float32(eps) * np.eye(d, dtype=np.float32)
            Ct = np.atleast_2d(np.cov(Xt, rowvar=False)).astype(np.float32) + np.float32(eps) * np.eye(d, dtype=np.float32)
            return Xs @ np.linalg.inv(scipy.linalg.sqrtm(Cs).real.astype(np.float32)) @ scipy.linalg.sqrtm(Ct).real.astype(np.float32)
        """,
    ("da_coral", "SVD and covariance by hand"): """
        def coral_transform(X_source, X_target, eps=1.0):
            def cov(X):
                X = np.asarray(X, float); Z = X - X.mean(0); return Z.T @ Z / (len(X) - 1)
            def root(C, p):
                U, s, _ = np.linalg.svd(C); return U @ np.diag(s ** p) @ U.T
            d = np.shape(X_source)[1]
            return np.asarray(X_source, float) @ root(cov(X_source) + eps * np.eye(d), -0.5) @ root(cov(X_target) + eps * np.eye(d), 0.5)
        """,
    ("da_grl", "the detach trick"): "def grad_reverse(x, lambda_=1.0):\n"
                                    "    return (1 + lambda_) * x.detach() - lambda_ * x\n",
    ("da_grl", "a backward hook"): """
        def grad_reverse(x, lambda_=1.0):
            y = x.view_as(x) * 1.0
            if y.requires_grad:
                y.register_hook(lambda g: -lambda_ * g)
            return y
        """,
    ("da_grl", "the course library"): "import tlhelpers.adapt.torch as _at\ngrad_reverse = _at.grad_reverse\n",
    ("da_select", "plain Python lists"): """
        def select_confident(probabilities, threshold):
            rows = [list(map(float, r)) for r in probabilities]
            kept = [i for i, r in enumerate(rows) if max(r) >= threshold]
            return kept, [rows[i].index(max(rows[i])) for i in kept]
        """,
    ("da_select", "the course library"): """
        def select_confident(probabilities, threshold):
            chosen = adapt.select_pseudo_labels(probabilities, threshold)
            return chosen.indices, chosen.labels
        """,
    ("da_self_train", "the course library"): """
        def self_train(X_source, y_source, X_target, threshold=0.9, rounds=3, C=0.05):
            return adapt.self_training(LogisticRegression(C=C, max_iter=2000), X_source, y_source, X_target,
                                       threshold=threshold, rounds=rounds)[0]
        """,
    ("da_self_train", "a loop that keeps the index set as a mask"): SELF_TRAIN.format(body="""\
    for _ in range(rounds):
        p = model.predict_proba(X_target)
        mask = p.max(1) >= threshold
        model = LogisticRegression(C=C, max_iter=2000).fit(np.concatenate([X_source, X_target[mask]]),
                                                           np.concatenate([y_source, p[mask].argmax(1)]))"""),
}


def test_solution_passes_visible_tests_and_probes(keys):
    for answer_id in OWNER:
        assert _score(answer_id, CELLS[answer_id], keys) == (True, POINTS[OWNER[answer_id]]), answer_id


def test_every_exercise_has_a_probe_and_points():
    assert set(PROBES) == set(POINTS)
    for test_id, points in POINTS.items():
        assert f'"points": {points}' in NOTEBOOK.read_text() or points  # points are read from the cells below
    nb = nbformat.read(NOTEBOOK, as_version=4)
    found = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"].get("points") for c in nb.cells
             if c.metadata.get("nbgrader", {}).get("grade")}
    assert found == POINTS


@pytest.mark.parametrize("key", list(WRONG), ids=[f"{a}: {w}" for a, w in WRONG])
def test_wrong_answer_fails_visible_test_and_loses_its_points(key, keys):
    visible, points = _score(key[0], WRONG[key], keys)
    assert not visible, "the visible test passes this wrong answer"
    assert points == 0.0, "the probe gives this wrong answer points"


@pytest.mark.parametrize("key", list(FORGED), ids=[f"{a}: {w}" for a, w in FORGED])
def test_forged_answer_gets_no_points(key, keys):
    assert _score(key[0], FORGED[key], keys)[1] == 0.0


@pytest.mark.parametrize("key", list(RIGHT), ids=[f"{a}: {w}" for a, w in RIGHT])
def test_right_but_different_answer_gets_full_points(key, keys):
    visible, points = _score(key[0], RIGHT[key], keys)
    assert visible, "the visible test rejects a right answer"
    assert points == POINTS[OWNER[key[0]]], "the probe rejects a right answer"


def test_registry_wrong_answer_fails_visible_test_and_loses_its_points(keys):
    from tlhelpers.registry import load_registry

    spec = next(s for s in load_registry() if s.path.name == NOTEBOOK.name)
    wrong = spec.grading["wrong_answer"]
    visible, points = _score(wrong["grade_id"], wrong["source"], keys)
    assert not visible and points == 0.0
