"""notebooks/ is exactly what nbgrader generates from solutions/, and it gives nothing away."""

from pathlib import Path

import nbformat
import pytest

from nbgrader_course import REPO_ROOT, assignments, make_course, normalised


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory) -> Path:
    return make_course(tmp_path_factory.mktemp("release")) / "notebooks"


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and ".ipynb_checkpoints" not in p.parts and "__pycache__" not in p.parts}


def test_every_assignment_is_released():
    assert assignments(), "solutions/ holds no assignment"
    for assignment in assignments():
        assert (REPO_ROOT / "notebooks" / assignment).is_dir(), f"{assignment} is not released: run `make release`"


def test_committed_release_matches_a_fresh_one(fresh_release):
    committed = REPO_ROOT / "notebooks"
    assert _files(committed) == _files(fresh_release), "run `make release` and commit notebooks/"
    for name in sorted(_files(committed)):
        if name.endswith(".ipynb"):
            assert normalised(committed / name) == normalised(fresh_release / name), (
                f"notebooks/{name} differs from what nbgrader generates from solutions/: run `make release`")
        else:
            assert (committed / name).read_bytes() == (fresh_release / name).read_bytes()


def test_release_has_no_solutions_hidden_tests_or_outputs():
    for path in (REPO_ROOT / "notebooks").rglob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            assert "BEGIN SOLUTION" not in cell.source and "BEGIN HIDDEN TESTS" not in cell.source, path
            assert not cell.get("outputs"), f"{path} has outputs"


def test_solutions_have_graded_exercises():
    for path in (REPO_ROOT / "solutions").glob("*/*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        meta = [c.metadata.get("nbgrader", {}) for c in nb.cells]
        answers = [m for m in meta if m.get("solution")]
        tests = [m for m in meta if m.get("grade") and not m.get("solution")]
        ids = [m["grade_id"] for m in meta if "grade_id" in m]
        assert len(answers) >= 3 and len(tests) >= 3, f"{path.name}: at least three graded exercises"
        assert len(ids) == len(set(ids)), f"{path.name}: grade_ids must be unique"
        assert all(m.get("points", 0) > 0 for m in tests), f"{path.name}: every test cell needs points"
        hidden = [c for c in nb.cells if "BEGIN HIDDEN TESTS" in c.source]
        assert hidden, f"{path.name}: no hidden tests"
        params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1 and 'profile = "ci"' in params[0].source
