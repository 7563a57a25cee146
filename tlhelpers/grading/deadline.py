"""Late submissions: nbgrader's due date and late-penalty policy, applied as each student's scores are recorded.

The due date is nbgrader's: the assignment's entry in the gradebook (``nbgrader db assignment add A
--duedate="2026-12-14 23:59:00 UTC"``; a student's extension with nbgrader's formgrader), and a submission's time
is its ``timestamp.txt`` (written by the student's Submit in the exchange, or by ``tlhelpers.grading collect``).
nbgrader computes how late a submission is from the two. The penalty is nbgrader's too: the late-submission
plugin its ``autograde`` would use (``AssignLatePenalties.plugin_class``, by default ``LateSubmissionPlugin`` with
``LateSubmissionPlugin.penalty_method``, set in the course's nbgrader_config.py), written to each submitted
notebook's ``late_submission_penalty``, which nbgrader's export and formgrader subtract from the score.

Nothing is dropped: a late submission is graded in full, its scores stay in the gradebook, and its feedback page
and the instructor's summary say how late it was and what the penalty took off.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tlhelpers.layout import COURSE_ID, CourseLayout

LATE_MARK = "tl-late"      # the id of the late notice in the feedback page


@dataclass
class Lateness:
    """How late one student's submission of an assignment was, and what nbgrader's policy took off."""

    student: str
    submitted: datetime
    duedate: datetime
    seconds_late: float
    score: float          # before the penalty
    penalty: float        # points taken off (0 when the policy takes nothing)
    policy: str           # the policy, in words

    def words(self) -> str:
        """One sentence for the student and the instructor."""
        took = (f"the late penalty takes {self.penalty:g} of its {self.score:g} points, so it counts "
                f"{self.score - self.penalty:g}" if self.penalty else "no points were taken off")
        return (f"submitted {duration(self.seconds_late)} after the deadline ({_utc(self.duedate)}; submitted "
                f"{_utc(self.submitted)}): {took} ({self.policy}).")


def duration(seconds: float) -> str:
    """``3 d 4 h``, ``2 h 5 min``, ``7 min``, ``12 s``: how late, in words a person reads at a glance."""
    seconds = int(round(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{secs} s"


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")       # nbgrader stores naive UTC times


def _plugin(course: Path):
    """nbgrader's late-submission plugin as the course's nbgrader_config.py configures it."""
    from nbgrader.preprocessors import AssignLatePenalties
    from traitlets.config.loader import PyFileConfigLoader

    config_file = Path(course) / "nbgrader_config.py"
    config = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config() \
        if config_file.is_file() else None
    assigner = AssignLatePenalties(config=config) if config is not None else AssignLatePenalties()
    assigner.init_plugin()
    return assigner.plugin_inst


def _policy(plugin) -> str:
    method = getattr(plugin, "penalty_method", None)
    if method == "none":
        return "the course's policy: late work is graded in full and marked late"
    if method == "zero":
        return "the course's policy: a late submission scores 0"
    return f"the course's late policy, {type(plugin).__name__}"


def apply_late_policy(course: Path, assignment: str, students: list[str],
                      url: str | None = None) -> dict[str, Lateness]:
    """Set nbgrader's late penalty of each of ``students``' (already graded) notebooks; return the late ones.

    The penalty per notebook is what the configured plugin returns for that notebook's score, kept between 0 and
    the score (as nbgrader's autograde does); on time, or with no due date, it is cleared. A re-grade recomputes it.
    ``url``: the gradebook (default: the course's, :meth:`CourseLayout.gradebook_url`). The grader
    (:func:`tlhelpers.grading.runner.grade_student`) calls this for each student right after recording the scores.
    """
    from nbgrader.api import Gradebook, MissingEntry

    layout = CourseLayout(Path(course))
    plugin = None
    late: dict[str, Lateness] = {}
    with Gradebook(url or layout.gradebook_url(), course_id=COURSE_ID) as gradebook:
        for student in students:
            try:
                submission = gradebook.find_submission(assignment, student)
            except MissingEntry:
                continue
            seconds = submission.total_seconds_late or 0.0
            total_penalty = 0.0
            for notebook in submission.notebooks:
                penalty = None
                if seconds > 0:
                    plugin = plugin or _plugin(course)
                    penalty = plugin.late_submission_penalty(student, notebook.score, seconds)
                    if penalty is not None:
                        penalty = min(max(float(penalty), 0.0), float(notebook.score))
                notebook.late_submission_penalty = penalty
                total_penalty += penalty or 0.0
            if seconds > 0:
                late[student] = Lateness(student, submission.timestamp, submission.duedate, seconds,
                                         float(submission.score), total_penalty, _policy(plugin))
        gradebook.db.commit()
    for student, lateness in late.items():
        mark_feedback(layout.feedback(student, assignment), lateness)
    return late


def mark_feedback(page: Path, lateness: Lateness) -> None:
    """Put the late notice into a feedback page, right under its title (the grader's summary comes first)."""
    if not page.is_file():
        return
    text = page.read_text()
    notice = (f"<p id='{LATE_MARK}' style='background:#fff4e0;padding:.5em'><b>Late:</b> "
              f"{html.escape(lateness.words())}</p>")
    start = text.find(f"<p id='{LATE_MARK}'")
    if start >= 0:                                    # a re-grade: replace the old notice
        text = text[:start] + text[text.index("</p>", start) + len("</p>"):]
    head = text.find("</h1>")
    if head < 0:
        return
    from tlhelpers.cache import atomic_write

    with atomic_write(page, "w") as handle:
        handle.write(text[:head + len("</h1>")] + notice + text[head + len("</h1>"):])
