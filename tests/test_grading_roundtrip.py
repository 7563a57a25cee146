"""Real nbgrader in a throwaway course: release, submit, autograde (smoke profile), read the gradebook.

The solution scores full points, the untouched release 0, a submission with one exercise wrong loses exactly
that exercise's points, and a submission that kills its kernel does not pass the tests it never ran.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
import yaml

from nbgrader_course import REPO_ROOT, make_course, nbgrader

pytestmark = pytest.mark.slow


def _registry() -> dict[str, dict]:
    entries = yaml.safe_load((REPO_ROOT / "tests" / "notebooks.yaml").read_text())["notebooks"]
    return {e["path"]: e for e in entries}


def _exercises(nb) -> dict[str, list[str]]:
    """Answer cell grade_id -> grade_ids of the test cells that follow it (until the next answer cell)."""
    owner, mapping = None, {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            owner = meta["grade_id"]
            mapping[owner] = []
        elif meta.get("grade") and owner is not None:
            mapping[owner].append(meta["grade_id"])
    return mapping


def _points(nb) -> dict[str, float]:
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"]) for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")}


def _replace_answer(nb, grade_id: str, source: str):
    nb = nbformat.from_dict(nb)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    cell.source = source
    return nb


def _submit(course: Path, student: str, assignment: str, name: str, nb) -> None:
    folder = course / "build" / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Submit four students' versions of every notebook, autograde them, and return the scores."""
    course = make_course(tmp_path_factory.mktemp("grading"))
    registry = _registry()
    plans = {}
    for solution_path in sorted((course / "solutions").glob("*/*.ipynb")):
        assignment, name = solution_path.parent.name, solution_path.name
        entry = registry[f"solutions/{assignment}/{name}"]
        solution = nbformat.read(solution_path, as_version=4)
        release = nbformat.read(course / "notebooks" / assignment / name, as_version=4)
        exercises, points = _exercises(solution), _points(solution)
        wrong = entry["grading"]["wrong_answer"]
        first_answer = next(iter(exercises))
        _submit(course, "alice", assignment, name, solution)
        _submit(course, "bob", assignment, name, release)
        _submit(course, "carol", assignment, name, _replace_answer(solution, wrong["grade_id"], wrong["source"]))
        _submit(course, "dave", assignment, name,
                _replace_answer(solution, first_answer, "import os\nos._exit(1)  # the kernel dies here"))
        plans[(assignment, name)] = dict(exercises=exercises, points=points, wrong=wrong["grade_id"])
    for assignment in sorted({a for a, _ in plans}):
        nbgrader(course, "autograde", assignment, "--force", check=False)
    from nbgrader.api import Gradebook, MissingEntry

    db_url = "sqlite:///" + str(course / "build" / "gradebook.db")
    scores = {}
    with Gradebook(db_url) as gradebook:
        for (assignment, name), plan in plans.items():
            for student in ("alice", "bob", "carol", "dave"):
                try:
                    sub = gradebook.find_submission_notebook(Path(name).stem, assignment, student)
                    scores[(assignment, name, student)] = {g.name: g.score for g in sub.grades if g.max_score}
                except MissingEntry:
                    scores[(assignment, name, student)] = None
    yield plans, scores
    shutil.rmtree(course, ignore_errors=True)


def test_solution_gets_full_points(graded):
    plans, scores = graded
    for (assignment, name), plan in plans.items():
        got = scores[(assignment, name, "alice")]
        assert got == plan["points"], f"{assignment}/{name}: the solution must get every point, got {got}"


def test_untouched_release_gets_nothing(graded):
    plans, scores = graded
    for (assignment, name), plan in plans.items():
        got = scores[(assignment, name, "bob")]
        assert got is not None and sum(got.values()) == 0, f"{assignment}/{name}: release scored {got}"


def test_one_wrong_exercise_loses_exactly_its_points(graded):
    plans, scores = graded
    for (assignment, name), plan in plans.items():
        lost = set(plan["exercises"][plan["wrong"]])
        expected = {gid: (0.0 if gid in lost else pts) for gid, pts in plan["points"].items()}
        assert lost, f"{plan['wrong']} has no test cell"
        assert scores[(assignment, name, "carol")] == expected


def test_dead_kernel_does_not_pass(graded):
    plans, scores = graded
    for (assignment, name), plan in plans.items():
        got = scores[(assignment, name, "dave")]
        assert got is None or sum(got.values()) == 0, f"{assignment}/{name}: a dead kernel scored {got}"
