"""Real nbgrader in a throwaway course per assignment: release, submit; then the course's trusted grader
(tlhelpers.grading: the sandbox and the probes, smoke profile) scores into nbgrader's gradebook, which is read back.

For every notebook: the untouched release scores 0, and a submission with one exercise wrong loses exactly that
exercise's points and keeps every other point (so every other exercise's solution scores in full), and its run in
the smoke profile raises nowhere but in that exercise's test cells. For the first assignment also (properties of the
grading set-up, checked once, as each costs a smoke run of every notebook): the whole solution scores full points
through the gradebook, and a submission that kills its kernel gets no points for the tests it never ran.

The solution's run here is also the suite's smoke-profile run of every notebook (tests/test_notebooks.py runs only
the ci profile): none of its cells may raise, which is checked on its graded copy, since the grader goes on after
an error.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from nbgrader_course import assignments, make_course

from tlhelpers.layout import CourseLayout
from tlhelpers.registry import NotebookSpec, load_registry

pytestmark = pytest.mark.slow
ASSIGNMENTS = assignments()


def _registry() -> dict[str, NotebookSpec]:
    return {spec.path.as_posix(): spec for spec in load_registry()}


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
    folder = CourseLayout(course).submitted(student, assignment)
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)


def _scores(course: Path, assignment: str, notebook: str, student: str) -> dict[str, float] | None:
    from tlhelpers.grading.gradebook import gradebook_url, scores

    found = scores(gradebook_url(course), assignment, student)
    return None if found is None else found.get(notebook)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_grading_round_trip(assignment, tmp_path, monkeypatch):
    monkeypatch.delenv("TLHELPERS_GRADEBOOK_URL", raising=False)
    course = make_course(tmp_path, only=[assignment])
    registry = _registry()
    first = assignment == ASSIGNMENTS[0]
    plans = {}
    for solution_path in sorted((course / "solutions" / assignment).glob("*.ipynb")):
        name = solution_path.name
        wrong = registry[f"solutions/{assignment}/{name}"].grading["wrong_answer"]
        solution = nbformat.read(solution_path, as_version=4)
        release = nbformat.read(course / "notebooks" / assignment / name, as_version=4)
        exercises = _exercises(solution)
        if first:
            _submit(course, "alice", assignment, name, solution)
        _submit(course, "bob", assignment, name, release)
        _submit(course, "carol", assignment, name, _replace_answer(solution, wrong["grade_id"], wrong["source"]))
        if first:
            _submit(course, "dave", assignment, name, _replace_answer(
                solution, next(iter(exercises)), "import os\nos._exit(1)  # the kernel dies here"))
        plans[name] = dict(points=_points(solution), lost=set(exercises[wrong["grade_id"]]))
    from tlhelpers.grading.runner import grade_assignment

    summaries = grade_assignment(course, assignment, progress=False)
    assert not [s for s in summaries if "error" in s], summaries

    for name, plan in plans.items():
        stem = Path(name).stem
        full = plan["points"]
        if first:
            alice = next(s for s in summaries if s["student"] == "alice")
            assert _scores(course, assignment, stem, "alice") == full, f"{name}: the solution must get every point"
            assert alice["notebooks"][name]["status"] == "ok", f"{name} in smoke: {alice['notebooks'][name]}"
        carol = next(s for s in summaries if s["student"] == "carol")
        assert carol["notebooks"][name]["status"] == "ok", f"{name} in smoke: {carol['notebooks'][name]}"
        executed = nbformat.read(CourseLayout(course).autograded("carol", assignment) / name, as_version=4)
        errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(executed.cells)
                  if c.metadata.get("nbgrader", {}).get("grade_id") not in plan["lost"]
                  for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"{name}: cells raised in the smoke profile outside the wrong exercise's tests: {errors}"
        bob = _scores(course, assignment, stem, "bob")
        assert bob is not None and sum(bob.values()) == 0, f"{name}: the untouched release scored {bob}"
        assert plan["lost"], "the wrong answer's exercise has no test cell"
        expected = {gid: (0.0 if gid in plan["lost"] else pts) for gid, pts in full.items()}
        assert _scores(course, assignment, stem, "carol") == expected, f"{name}: one wrong exercise"
        if first:
            dave = _scores(course, assignment, stem, "dave")
            assert dave is None or sum(dave.values()) == 0, f"{name}: a dead kernel scored {dave}"
