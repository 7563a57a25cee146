"""The course layout agrees with nbgrader: the paths nbgrader_config.py gives nbgrader are the ones the grader uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from tlhelpers.layout import COURSE_ID, REPO_ROOT, CourseLayout


@pytest.fixture()
def coursedir(tmp_path, monkeypatch):
    """nbgrader's CourseDirectory configured by a copy of the course's nbgrader_config.py in ``tmp_path``."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    monkeypatch.delenv("TLHELPERS_GRADEBOOK_URL", raising=False)
    (tmp_path / "nbgrader_config.py").write_text((REPO_ROOT / "nbgrader_config.py").read_text())
    config = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
    return CourseDirectory(config=config), config


def test_nbgrader_and_the_layout_name_the_same_folders(tmp_path, coursedir):
    nbgrader, config = coursedir
    layout = CourseLayout(tmp_path)
    assert Path(nbgrader.root) == tmp_path and config.CourseDirectory.course_id == COURSE_ID
    for kind, ours in (("submitted_directory", layout.submitted("alice", "a1")),
                       ("autograded_directory", layout.autograded("alice", "a1")),
                       ("feedback_directory", layout.feedback("alice", "a1").parent),
                       ("source_directory", layout.source("a1")),
                       ("release_directory", layout.release("a1"))):
        student = "alice" if kind in ("submitted_directory", "autograded_directory", "feedback_directory") else "."
        assert Path(nbgrader.format_path(getattr(nbgrader, kind), student, "a1")) == ours, kind
    expected_db = f"sqlite:///{tmp_path.resolve()}/build/gradebook.db"
    assert config.CourseDirectory.db_url == layout.gradebook_url() == expected_db
    assert Path(config.Exchange.root) == layout.exchange()


def test_gradebook_url_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TLHELPERS_GRADEBOOK_URL", "postgresql+psycopg2://grader@db/tl")
    assert CourseLayout(tmp_path).gradebook_url() == "postgresql+psycopg2://grader@db/tl"


def test_another_build_folder_moves_every_build_path(tmp_path):
    layout = CourseLayout(tmp_path / "course", tmp_path / "elsewhere")
    assert layout.metrics("a1", "nb") == tmp_path / "elsewhere" / "metrics" / "a1__nb.json"
    assert layout.executed("a1", "nb") == tmp_path / "elsewhere" / "executed" / "a1" / "nb.ipynb"
    assert layout.results("a1", "bob") == tmp_path / "elsewhere" / "grading" / "results" / "a1" / "bob.json"
    assert layout.source("a1") == tmp_path / "course" / "solutions" / "a1"
