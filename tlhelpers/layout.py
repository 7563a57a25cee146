"""Where everything of a course lives: one object answers every path question (in the spirit of nbgrader's
``CourseDirectory.format_path``).

A course folder holds ``solutions/`` (nbgrader's source), ``notebooks/`` (the release) and ``build/`` (git
ignores it), where the tools write::

    build/submitted/<student>/<assignment>/        collected submissions (nbgrader's submitted_directory)
    build/autograded/<student>/<assignment>/       graded notebooks (autograded_directory)
    build/feedback/<student>/<assignment>/         feedback.html (feedback_directory)
    build/gradebook.db                             the SQLite gradebook, unless $TLHELPERS_GRADEBOOK_URL is set
    build/exchange/                                nbgrader's local exchange for ``make lab``
    build/grading/keys/<assignment>/               answer keys, cached by SHA-256
    build/grading/work/<assignment>/<name>/        sandbox work folders
    build/grading/results/<assignment>/<student>.json
    build/grading/collect-<assignment>.json        what ``collect`` could not use
    build/executed/<assignment>/<notebook>.ipynb   notebooks executed by ``make course``
    build/metrics/<assignment>__<notebook>.json    their metrics
    build/course-<profile>.md / .json, build/report.md / .html, build/report_files/

``nbgrader_config.py`` reads the course id, the directories and the gradebook rule from here, so that nbgrader and
:mod:`tlhelpers.grading` cannot disagree. Nothing here creates folders; callers do when they write.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["COURSE_ID", "GRADEBOOK_URL_VARIABLE", "SOURCE", "RELEASE", "BUILD", "SUBMITTED", "AUTOGRADED",
           "FEEDBACK", "REPO_ROOT", "CourseLayout"]

#: nbgrader's course id (the gradebook and the exchange are per course).
COURSE_ID = "transfer-learning"
#: Set it to a database URL (e.g. ``postgresql+psycopg2://...``) to grade with parallel workers.
GRADEBOOK_URL_VARIABLE = "TLHELPERS_GRADEBOOK_URL"

# Folder names relative to the course root, as nbgrader's CourseDirectory takes them.
SOURCE = "solutions"
RELEASE = "notebooks"
BUILD = "build"
SUBMITTED = os.path.join(BUILD, "submitted")
AUTOGRADED = os.path.join(BUILD, "autograded")
FEEDBACK = os.path.join(BUILD, "feedback")

#: The repository this package sits in (the default course).
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class CourseLayout:
    """The paths of one course folder. ``build`` defaults to ``<root>/build``; the course runner may take another."""

    root: Path = REPO_ROOT
    build: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))
        object.__setattr__(self, "build", Path(self.build) if self.build is not None else self.root / BUILD)

    # --------------------------------------------------------------------------------- nbgrader's folders
    def source(self, assignment: str) -> Path:
        """``solutions/<assignment>``: the instructor's notebooks and probe files."""
        return self.root / SOURCE / assignment

    def release(self, assignment: str | None = None) -> Path:
        """``notebooks/`` or ``notebooks/<assignment>``: what students get."""
        return self.root / RELEASE / assignment if assignment else self.root / RELEASE

    def submitted(self, student: str | None = None, assignment: str | None = None) -> Path:
        """``build/submitted[/<student>[/<assignment>]]``."""
        return self.build.joinpath("submitted", *(p for p in (student, assignment) if p))

    def autograded(self, student: str, assignment: str) -> Path:
        """``build/autograded/<student>/<assignment>``: the graded notebooks."""
        return self.build / "autograded" / student / assignment

    def feedback(self, student: str | None = None, assignment: str | None = None) -> Path:
        """``build/feedback[/<student>/<assignment>/feedback.html]``."""
        if student is None:
            return self.build / "feedback"
        return self.build / "feedback" / student / assignment / "feedback.html"

    def gradebook_url(self) -> str:
        """``$TLHELPERS_GRADEBOOK_URL`` if set, else the SQLite file ``build/gradebook.db`` (one writer)."""
        return os.environ.get(GRADEBOOK_URL_VARIABLE) or "sqlite:///" + str(self.gradebook_file())

    def gradebook_file(self) -> Path:
        """``build/gradebook.db`` (absolute), the default gradebook."""
        return self.build.resolve() / "gradebook.db"

    def exchange(self) -> Path:
        """``build/exchange``: nbgrader's local exchange."""
        return self.build / "exchange"

    # ------------------------------------------------------------------------------------ tlhelpers.grading
    def grading(self) -> Path:
        """``build/grading``: everything the trusted grader keeps."""
        return self.build / "grading"

    def keys(self, assignment: str) -> Path:
        """``build/grading/keys/<assignment>``: answer keys, cached by SHA-256."""
        return self.grading() / "keys" / assignment

    def work(self, assignment: str, name: str) -> Path:
        """``build/grading/work/<assignment>/<name>``: one sandbox work folder."""
        return self.grading() / "work" / assignment / name

    def results(self, assignment: str, student: str) -> Path:
        """``build/grading/results/<assignment>/<student>.json``."""
        return self.grading() / "results" / assignment / f"{student}.json"

    def collect_report(self, assignment: str) -> Path:
        """``build/grading/collect-<assignment>.json``."""
        return self.grading() / f"collect-{assignment}.json"

    # ------------------------------------------------------------------------------------ tlhelpers.course
    def executed(self, assignment: str, notebook: str) -> Path:
        """``build/executed/<assignment>/<notebook>.ipynb`` (``notebook``: the stem)."""
        return self.build / "executed" / assignment / f"{notebook}.ipynb"

    def metrics(self, assignment: str, notebook: str) -> Path:
        """``build/metrics/<assignment>__<notebook>.json``."""
        return self.build / "metrics" / f"{assignment}__{notebook}.json"

    def course_table(self, profile: str, suffix: str = ".md") -> Path:
        """``build/course-<profile>.md`` (or ``.json``)."""
        return self.build / f"course-{profile}{suffix}"

    def report(self, suffix: str = ".md") -> Path:
        """``build/report.md`` (or ``.html``)."""
        return self.build / f"report{suffix}"

    def report_files(self) -> Path:
        """``build/report_files``: the figures the report shows."""
        return self.build / "report_files"

    def screenshots(self) -> Path:
        """``build/screenshots``: the browser test's steps."""
        return self.build / "screenshots"

    def benchmarks(self) -> Path:
        """``build/benchmarks``: benchmark results."""
        return self.build / "benchmarks"
