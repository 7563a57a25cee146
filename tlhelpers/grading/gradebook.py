"""Scores into nbgrader's gradebook (SQLite by default, PostgreSQL for parallel workers).

nbgrader keeps the gradebook, exports it to CSV and shows it in formgrader; only the autograded scores are
written here, in place of nbgrader's autograde. Manual scores and extra credit an instructor entered are kept.
"""

from __future__ import annotations

from pathlib import Path

from tlhelpers.grading.scoring import NotebookResult
from tlhelpers.layout import COURSE_ID, CourseLayout


def gradebook_url(course: Path) -> str:
    """``$TLHELPERS_GRADEBOOK_URL`` (e.g. ``postgresql+psycopg2://...``), else the course's SQLite file."""
    return CourseLayout(Path(course)).gradebook_url()


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def record(url: str, assignment: str, student: str, results: list[NotebookResult],
           timestamp: str | None = None) -> None:
    """Write one student's autograded scores for ``assignment`` (creating the student and submission if new)."""
    import warnings

    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SAWarning

    with Gradebook(url, course_id=COURSE_ID) as gradebook, warnings.catch_warnings():
        # nbgrader's add_submission itself triggers these autoflush warnings (its own autograde shows them too).
        warnings.simplefilter("ignore", SAWarning)
        try:
            gradebook.find_assignment(assignment)
        except MissingEntry:
            raise RuntimeError(f"the gradebook has no assignment {assignment!r}: release it first "
                               f"(`make release`, which runs nbgrader generate_assignment)") from None
        gradebook.update_or_create_student(student)
        kwargs = {"timestamp": timestamp} if timestamp else {}
        gradebook.update_or_create_submission(assignment, student, **kwargs)
        for result in results:
            notebook = Path(result.notebook).stem
            for test in result.tests:
                grade = gradebook.find_grade(test.grade_id, notebook, assignment, student)
                grade.auto_score = test.points
                grade.needs_manual_grade = False
        gradebook.db.commit()


def scores(url: str, assignment: str, student: str) -> dict[str, dict[str, float]] | None:
    """notebook -> {grade_id: score} for cells with points, or None when the student has no submission."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(url, course_id=COURSE_ID) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return None
        return {nb.name: {g.name: g.score for g in nb.grades if g.max_score} for nb in submission.notebooks}
