"""Forged answers on a real assignment, end to end through the sandbox (issue 17, finding 1).

01's real probe file, graded by the real grader (bubblewrap, smoke profile): each submission is the solution with one
answer replaced, and must score exactly the points it earns. The fast, exhaustive tables of answers are in
tests/test_probe_tables.py; here the few that need the real kernel: reaching into the probe's frame, IPython hooks
that learn a probe cell's nonce and print a forged answer line with it, the old global reporter replaced, and a right
answer in float32.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from nbgrader_course import make_course

from tlhelpers.layout import CourseLayout

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path("/usr/bin/bwrap").exists() and not os.environ.get("CI"),
                                                   reason="bubblewrap not installed (apt-get install bubblewrap)")]

ASSIGNMENT = "01_domains_and_tasks"
NOTEBOOK = "domains_and_tasks.ipynb"
LABEL_SHIFT_POINTS = 3.0

DEGENERATE = "def label_shifted_indices(y, priors, n, random_state=None):\n    return np.arange(n)\n"
# a well-formed answer line for label_shift_subsets, printed with the nonce read from the probe cell's own text
FORGED_LINE = ("import json as _j, re as _re\n"
               "_value = {'subsets': [list(range(45))] * 6, 'twice': [list(range(45))] * 2,\n"
               "          'draws': [list(range(45))] * 40, 'too_few': 'ValueError'}\n"
               "def _forge(cell):\n"
               "    for nonce, name in _re.findall(r'([0-9a-f]{32}) (label_shift_subsets) ', cell or ''):\n"
               "        print(nonce, name, _j.dumps({'ok': True, 'value': _value}))\n")

SUBMISSIONS = {
    # the student's function walks up to the probe's frames and empties every list there (the requests, the
    # draws), up to the cell's module frame (going further breaks the student's own kernel, and later exercises)
    "frame_reacher": ("import sys\ndef label_shifted_indices(y, priors, n, random_state=None):\n"
                      "    f = sys._getframe(1)\n    while f is not None and f.f_code.co_name != '<module>':\n"
                      "        for value in list(f.f_locals.values()):\n"
                      "            if isinstance(value, list):\n                value.clear()\n"
                      "        f = f.f_back\n"
                      "    if priors[0] == 0.1:\n        raise ValueError('too few')\n    return np.arange(n)\n",
                      -LABEL_SHIFT_POINTS),
    # a post-run hook prints a forged, well-formed answer line after the probe's own (the last line is parsed)
    "hook_forger": (DEGENERATE + FORGED_LINE +
                    "get_ipython().events.register('post_run_cell', lambda r: _forge(r.info.raw_cell))\n",
                    -LABEL_SHIFT_POINTS),
    # the reporter of the old design replaced in the globals: no effect, the probe cell brings its own
    "reporter_wrapper": (DEGENERATE + "__tl_report = lambda name, f: None\n__tl_plain = lambda v, depth=0: v\n",
                         -LABEL_SHIFT_POINTS),
    # a right answer drawn with the legacy RandomState: full points
    "legacy_random_state": ("def label_shifted_indices(y, priors, n, random_state=None):\n"
                            "    y = np.asarray(y); priors = np.asarray(priors, dtype=float)\n"
                            "    rng = np.random.RandomState(random_state)\n"
                            "    counts = np.floor(priors * n).astype(int)\n"
                            "    counts[np.argsort(-(priors * n - counts), kind='stable')[:n - counts.sum()]] += 1\n"
                            "    parts = []\n    for c, k in enumerate(counts):\n"
                            "        members = np.flatnonzero(y == c)\n"
                            "        if len(members) < k:\n            raise ValueError('too few')\n"
                            "        parts.append(rng.choice(members, size=k, replace=False))\n"
                            "    out = np.concatenate(parts).astype(int)\n    rng.shuffle(out)\n    return out\n",
                            0.0),
}
MMD_FLOAT32 = ("def mmd_rbf_squared(X, Y, gamma):\n"
               "    X = np.asarray(X, np.float32).reshape(len(X), -1); Y = np.asarray(Y, np.float32).reshape(len(Y), -1)\n"
               "    k = lambda A, B: np.exp(np.float32(-gamma) * ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1))\n"
               "    return float(k(X, X).mean() + k(Y, Y).mean() - 2 * k(X, Y).mean())\n")


def _with_answer(solution, grade_id: str, source: str):
    nb = nbformat.from_dict(solution)
    next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id).source = source
    return nb


def test_forgeries_on_a_real_assignment_score_what_they_earn(tmp_path, monkeypatch):
    monkeypatch.delenv("TLHELPERS_GRADEBOOK_URL", raising=False)
    from tlhelpers.grading.runner import grade_assignment

    course = make_course(tmp_path, only=[ASSIGNMENT])
    solution = nbformat.read(course / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4)
    full = sum(float(c.metadata["nbgrader"]["points"]) for c in solution.cells
               if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution"))
    plans = {student: (_with_answer(solution, "label_shifted_indices", source), full + change)
             for student, (source, change) in SUBMISSIONS.items()}
    plans["float32_mmd"] = (_with_answer(solution, "mmd_rbf_squared", MMD_FLOAT32), full)
    for student, (nb, _) in plans.items():
        folder = CourseLayout(course).submitted(student, ASSIGNMENT)
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / NOTEBOOK)
    summaries = grade_assignment(course, ASSIGNMENT, progress=False)
    got = {s["student"]: s.get("score", s.get("error")) for s in summaries}
    assert got == {student: score for student, (_, score) in plans.items()}
