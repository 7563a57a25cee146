"""Parallel grading with the gradebook in a real PostgreSQL server (a throwaway cluster the test starts and stops).

Two local workers grade a class of toy submissions; then two concurrent `--shard I/2` commands (what a Slurm array
or Kubernetes jobs would run) re-grade everyone; then one student is re-graded alone. Every score must be exact and
the re-grade must leave the other students untouched. SQLite refuses parallel workers with a clear message.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import require
from grading_toy import ASSIGNMENT, make_toy_course, submission, submit
from nbgrader_course import nbgrader
from postgres_server import server_bin, throwaway_postgres

pytestmark = pytest.mark.slow

CLASS = {  # student -> (answers on the release, exact score)
    "s01": ({"toy_add": "def add(a, b):\n    return a + b", "toy_squares": "def squares(xs):\n    return [x * x for x in xs]",
             "toy_constant": "answer = 42"}, 4),
    "s02": ({}, 0),
    "s03": ({"toy_add": "def add(a, b):\n    return a + b"}, 1),
    "s04": ({"toy_squares": "import numpy as np\ndef squares(xs):\n    return np.square(xs)"}, 2),
    "s05": ({"toy_add": "def add(a, b):\n    return a - b", "toy_constant": "answer = 42"}, 1),
    "s06": ({"toy_constant": "answer = 41"}, 0),
}


def _totals(url: str) -> dict[str, float]:
    from tlhelpers.grading.gradebook import scores

    return {s: sum(sum(nb.values()) for nb in (scores(url, ASSIGNMENT, s) or {}).values()) for s in CLASS}


def test_parallel_grading_into_postgresql(tmp_path, monkeypatch):
    require("parallel grading into PostgreSQL", [] if server_bin() else
            ["PostgreSQL's server (make test-setup, or apt-get install postgresql)"])
    from tlhelpers.grading import sandbox
    from tlhelpers.grading.runner import grade_assignment

    with throwaway_postgres() as url:
        monkeypatch.setenv("TLHELPERS_GRADEBOOK_URL", url)
        course = make_toy_course(tmp_path)          # nbgrader releases into the PostgreSQL gradebook
        for student, (answers, _) in CLASS.items():
            submit(course, student, submission(course, answers))
        limits = sandbox.Limits(wall_seconds=120, cell_timeout=30)
        summaries = grade_assignment(course, ASSIGNMENT, workers=2, limits=limits, progress=False)
        assert {s["student"]: s.get("score", s.get("error")) for s in summaries} == \
            {s: score for s, (_, score) in CLASS.items()}
        assert _totals(url) == {s: score for s, (_, score) in CLASS.items()}

        # the worker command, as two scheduler jobs at once sharing the gradebook
        env = dict(os.environ, TLHELPERS_GRADEBOOK_URL=url, PATH=os.path.dirname(sys.executable) + ":" + os.environ["PATH"])
        jobs = [subprocess.Popen([sys.executable, "-m", "tlhelpers.grading", "grade", ASSIGNMENT, "--shard", f"{i}/2",
                                  "--no-progress"], cwd=course, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True) for i in range(2)]
        outputs = [job.communicate(timeout=600)[0] for job in jobs]
        assert all(job.returncode == 0 for job in jobs), outputs
        assert sorted(line.split(":")[0] for out in outputs for line in out.splitlines() if line.startswith("s0")) \
            == sorted(CLASS)
        assert _totals(url) == {s: score for s, (_, score) in CLASS.items()}

        # re-grade one student after a corrected submission: only that student changes
        submit(course, "s02", submission(course, CLASS["s01"][0]))
        grade_assignment(course, ASSIGNMENT, students=["s02"], limits=limits, progress=False)
        expected = {s: score for s, (_, score) in CLASS.items()} | {"s02": 4}
        assert _totals(url) == expected

        # the export an instructor runs, from the same gradebook
        nbgrader(course, "export", "--to", str(tmp_path / "grades.csv"))
        text = (tmp_path / "grades.csv").read_text()
        assert text.count("\n") >= len(CLASS) + 1 and "s02" in text


def test_sqlite_refuses_parallel_workers(toy_course):
    from tlhelpers.grading.runner import grade_assignment

    course = toy_course                          # its gradebook is SQLite
    submit(course, "s01", submission(course))
    with pytest.raises(ValueError, match="PostgreSQL"):
        grade_assignment(course, ASSIGNMENT, workers=2, progress=False)
