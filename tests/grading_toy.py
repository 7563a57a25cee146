"""A tiny nbgrader course ("toy": three exercises, 4 points) for the grading tests: fast to run, real nbgrader."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat

from nbgrader_course import REPO_ROOT, nbgrader

from tlhelpers.layout import CourseLayout

ASSIGNMENT = "toy"
NOTEBOOK = "toy.ipynb"


def _answer(grade_id: str, source: str):
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
        "grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3, "solution": True,
        "task": False}})


def _test(grade_id: str, points: int, source: str):
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
        "grade": True, "grade_id": grade_id, "locked": True, "points": points, "schema_version": 3,
        "solution": False, "task": False}})


def solution_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Toy assignment"),
        nbformat.v4.new_code_cell("import numpy as np"),
        _answer("toy_add", 'def add(a, b):\n    """a + b"""\n    ### BEGIN SOLUTION\n    return a + b\n'
                           '    ### END SOLUTION'),
        _test("toy_add_tests", 1, 'assert add(2, 3) == 5, "add(2, 3) should be 5"\n### BEGIN HIDDEN TESTS\n'
                                  'assert add(17, 25) == 42\n### END HIDDEN TESTS'),
        _answer("toy_squares", 'def squares(xs):\n    """The squares of xs, as an array."""\n'
                               '    ### BEGIN SOLUTION\n    return np.asarray(xs) ** 2\n    ### END SOLUTION'),
        _test("toy_squares_tests", 2, 'assert list(squares([1, 2])) == [1, 4]\n### BEGIN HIDDEN TESTS\n'
                                      'assert list(squares([-3])) == [9]\n### END HIDDEN TESTS'),
        _answer("toy_constant", "### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION"),
        _test("toy_constant_tests", 1, "assert isinstance(answer, int)\n### BEGIN HIDDEN TESTS\n"
                                       "assert answer == 42\n### END HIDDEN TESTS"),
        nbformat.v4.new_code_cell('print("the end")'),
    ]
    return nb


PROBES = '''\
from tlhelpers.grading.probes import probe


@probe("toy_add_tests", what="add on hidden inputs")
def add_values():
    return [add(17, 25), add(-3, 3), add(0.5, 0.25)]


@probe("toy_squares_tests", rtol=1e-9, what="squares of -3..3")
def squares_values():
    import numpy as np
    return squares(np.arange(-3, 4))


@probe("toy_constant_tests", what="the constant")
def constant_value():
    return answer
'''


def make_toy_course(where: Path) -> Path:
    """A course folder with the toy assignment in solutions/ and its release in notebooks/ (and the gradebook)."""
    course = where / "toycourse"
    (course / "solutions" / ASSIGNMENT).mkdir(parents=True)
    CourseLayout(course).build.mkdir()
    shutil.copy(REPO_ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    nbformat.write(solution_notebook(), course / "solutions" / ASSIGNMENT / NOTEBOOK)
    (course / "solutions" / ASSIGNMENT / "toy.probes.py").write_text(PROBES)
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    return course


def submission(course: Path, answers: dict[str, str] | None = None, base: str = "release") -> dict:
    """A submission: the release (or the solution) with some answer cells' sources replaced."""
    folder = "notebooks" if base == "release" else "solutions"
    nb = json.loads((course / folder / ASSIGNMENT / NOTEBOOK).read_text())
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if answers and grade_id in answers:
            cell["source"] = answers[grade_id]
    return nb


def submit(course: Path, student: str, nb: dict | bytes, extra_files: dict[str, str] | None = None) -> Path:
    folder = CourseLayout(course).submitted(student, ASSIGNMENT)
    folder.mkdir(parents=True, exist_ok=True)
    data = nb if isinstance(nb, bytes) else json.dumps(nb).encode()
    (folder / NOTEBOOK).write_bytes(data)
    for name, text in (extra_files or {}).items():
        (folder / name).write_text(text)
    return folder
