"""The student's self-check: `nbgrader validate` passes an honest answer and names what is wrong otherwise."""

from __future__ import annotations

import json

import pytest

from grading_toy import submission
from nbgrader_course import nbgrader

pytestmark = pytest.mark.slow


def test_validate_passes_an_honest_answer_and_explains_a_wrong_one(toy_course, tmp_path):
    course = toy_course
    honest = submission(course, {"toy_add": "def add(a, b):\n    return a + b",
                                 "toy_squares": "def squares(xs):\n    return [x * x for x in xs]",
                                 "toy_constant": "answer = 42"})
    wrong = dict(honest, cells=[dict(c) for c in honest["cells"]])
    for cell in wrong["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "toy_add":
            cell["source"] = "def add(a, b):\n    return a * b"
    for name, nb in (("honest", honest), ("wrong", wrong)):
        (tmp_path / f"{name}.ipynb").write_text(json.dumps(nb))
    ok = nbgrader(course, "validate", str(tmp_path / "honest.ipynb"), check=False)
    assert ok.returncode == 0 and "Success! Your notebook passes all the tests." in ok.stdout, ok.stdout + ok.stderr
    bad = nbgrader(course, "validate", str(tmp_path / "wrong.ipynb"), check=False)
    text = bad.stdout + bad.stderr
    assert "VALIDATION FAILED" in text and "add(2, 3) should be 5" in text, text
