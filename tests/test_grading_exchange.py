"""What goes wrong in a class, through nbgrader's exchange and the course's grader (issue 18): each step says what
happened in words, and nothing is lost.

A toy assignment of two notebooks (toy, extra) is released into an exchange in a temporary folder. alice fetches,
answers both and submits before the deadline. bob submits the untouched release first, then - after the due date
in the gradebook - again, with toy answered and extra.ipynb deleted. Then:

- ``nbgrader collect --before-duedate`` takes bob's on-time submission, ``collect --update`` his newest; both of
  his submissions stay in the exchange's inbound folder;
- ``python -m tlhelpers.grading grade``: alice 8 / 8; bob 4 / 8, with extra.ipynb graded 0 as "not handed in",
  toy graded in full, marked late (the course's policy, "none": no points taken off) in his feedback and in the
  instructor's summary, and nbgrader's late penalty in the gradebook (none);
- ``release-feedback``, then bob's Fetch Feedback (``nbgrader fetch_feedback``): his page says he was late and
  that extra.ipynb was not handed in;
- with the policy "zero" (nbgrader_config.py), the same submission's penalty is all its points, said in words,
  also when bob is re-graded from Python (``runner.grade_assignment``: the runner applies the policy, not the CLI).

The browser flow of the same exchange (two students, a second submission) is tests/test_hub_class.py.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from grading_toy import ASSIGNMENT, NOTEBOOK, PROBES, solution_notebook
from nbgrader_course import REPO_ROOT, nbgrader

from tlhelpers.layout import COURSE_ID, CourseLayout

EXTRA = "extra.ipynb"


def _two_notebooks(course: Path) -> None:
    """Add a second notebook (a copy of toy with its own probes) to the toy assignment and release it again."""
    source = course / "solutions" / ASSIGNMENT
    (source / EXTRA).write_text(json.dumps(solution_notebook()))
    (source / "extra.probes.py").write_text(PROBES)
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")


def _answer_all(folder: Path, skip: str | None = None) -> None:
    """A student's work: every notebook of the fetched assignment replaced by the solution's cells (a fair copy)."""
    for name in (NOTEBOOK, EXTRA):
        if name != skip:
            (folder / name).write_text(json.dumps(solution_notebook()))


@pytest.mark.slow
@pytest.mark.usefixtures("grading_sandbox")
def test_twice_late_and_a_missing_notebook(toy_course, tmp_path, capsys, monkeypatch):
    from tlhelpers.grading.__main__ import main
    from tlhelpers.grading.deadline import LATE_MARK, apply_late_policy

    course = toy_course
    _two_notebooks(course)
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)
    instructor = {"TLHELPERS_EXCHANGE": str(exchange)}
    monkeypatch.setenv("TLHELPERS_EXCHANGE", str(exchange))     # for the grader's commands run in this process
    nbgrader(course, "release_assignment", ASSIGNMENT, env=instructor)
    homes = {name: tmp_path / name for name in ("alice", "bob")}
    # a student's nbgrader settings on the class's hub (the course id and the exchange, nothing else) and a home of
    # their own: nbgrader keeps each student's record of their submissions there (Fetch Feedback reads it)
    students = {name: dict(instructor, HOME=str(home), JUPYTER_CONFIG_PATH=str(REPO_ROOT / "tlhelpers" / "jupyter" /
                                                                             "hub")) for name, home in homes.items()}
    for name, home in homes.items():
        home.mkdir()
        nbgrader(home, "fetch_assignment", ASSIGNMENT, f"--student={name}", env=students[name])
        assert sorted(p.name for p in (home / ASSIGNMENT).glob("*.ipynb")) == [EXTRA, NOTEBOOK]

    _answer_all(homes["alice"] / ASSIGNMENT)
    nbgrader(homes["alice"], "submit", ASSIGNMENT, "--student=alice", env=students["alice"])
    nbgrader(homes["bob"], "submit", ASSIGNMENT, "--student=bob", env=students["bob"])   # too early: untouched
    time.sleep(1.5)
    due = datetime.now(timezone.utc).replace(microsecond=0)
    nbgrader(course, "db", "assignment", "add", ASSIGNMENT, f"--duedate={due:%Y-%m-%d %H:%M:%S} UTC", env=instructor)
    time.sleep(1.5)
    (homes["bob"] / ASSIGNMENT / EXTRA).unlink()          # bob deleted a notebook, and answered the other one
    _answer_all(homes["bob"] / ASSIGNMENT, skip=EXTRA)
    submitted = nbgrader(homes["bob"], "submit", ASSIGNMENT, "--student=bob", env=students["bob"], check=False)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    said = submitted.stdout + submitted.stderr
    assert f"{EXTRA}: MISSING" in said, f"nbgrader submit should warn that {EXTRA} is missing:\n{said}"

    # nothing is lost: every submission stays in the exchange
    inbound = exchange / COURSE_ID / "inbound"
    assert len(list(inbound.glob(f"bob+{ASSIGNMENT}+*"))) == 2 and len(list(inbound.glob(f"alice+{ASSIGNMENT}+*"))) == 1

    layout = CourseLayout(course)
    nbgrader(course, "collect", "--before-duedate", ASSIGNMENT, env=instructor)
    assert (layout.submitted("bob", ASSIGNMENT) / EXTRA).is_file(), "before the deadline bob handed in both"
    nbgrader(course, "collect", "--update", ASSIGNMENT, env=instructor)
    assert not (layout.submitted("bob", ASSIGNMENT) / EXTRA).exists(), "bob's newest submission lacks extra"

    capsys.readouterr()
    assert main(["--course", str(course), "grade", ASSIGNMENT, "--no-progress"]) == 0
    summary = capsys.readouterr().out
    assert "alice: 8 / 8\n" in summary, summary
    assert "bob: 4 / 8 (late by " in summary, summary
    assert "1 submissions came after the deadline" in summary and "no points were taken off" in summary, summary
    assert f"bob: {EXTRA}: {EXTRA} was not handed in" in summary, summary
    page = layout.feedback("bob", ASSIGNMENT).read_text()
    assert f"id='{LATE_MARK}'" in page and "after the deadline" in page and "graded in full" in page, page[:3000]
    assert f"{EXTRA} was not handed in" in page and f"{NOTEBOOK}: 4 / 4" in page, page[:3000]
    assert LATE_MARK not in layout.feedback("alice", ASSIGNMENT).read_text()

    from tlhelpers.grading.gradebook import gradebook_url
    from nbgrader.api import Gradebook

    with Gradebook(gradebook_url(course), course_id=COURSE_ID) as gradebook:
        late = gradebook.find_submission(ASSIGNMENT, "bob")
        assert late.total_seconds_late > 0 and late.late_submission_penalty == 0 and late.score == 4
        assert gradebook.find_submission(ASSIGNMENT, "alice").total_seconds_late == 0

    assert main(["--course", str(course), "release-feedback", ASSIGNMENT]) == 0
    nbgrader(homes["bob"], "fetch_feedback", ASSIGNMENT, "--student=bob", env=students["bob"])
    fetched = list((homes["bob"] / ASSIGNMENT / "feedback").glob("*/toy.html"))
    assert len(fetched) == 1, list((homes["bob"] / ASSIGNMENT).rglob("*"))
    shown = fetched[0].read_text()
    assert "after the deadline" in shown and f"{EXTRA} was not handed in" in shown

    # the policy "zero": the late submission's points all go to nbgrader's late penalty, and its page says so
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + '\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    # a Python caller of the runner gets the penalty too (applied per student in grade_student, not by the CLI)
    from tlhelpers.grading.runner import grade_assignment

    [regraded] = grade_assignment(course, ASSIGNMENT, students=["bob"], progress=False)
    assert regraded["score"] == 4 and regraded["late"]["penalty"] == 4, regraded
    assert "so it counts 0" in regraded["late"]["words"] and "late_error" not in regraded, regraded
    with Gradebook(gradebook_url(course), course_id=COURSE_ID) as gradebook:
        assert gradebook.find_submission(ASSIGNMENT, "bob").late_submission_penalty == 4
    assert "so it counts 0" in layout.feedback("bob", ASSIGNMENT).read_text()
    [(who, lateness)] = apply_late_policy(course, ASSIGNMENT, ["alice", "bob"]).items()
    assert who == "bob" and lateness.penalty == 4 and lateness.seconds_late > 0
    assert "takes 4 of its 4 points, so it counts 0" in lateness.words() and "scores 0" in lateness.words()
    page = layout.feedback("bob", ASSIGNMENT).read_text()
    assert page.count(f"id='{LATE_MARK}'") == 1 and "so it counts 0" in page
    with Gradebook(gradebook_url(course), course_id=COURSE_ID) as gradebook:
        assert gradebook.find_submission(ASSIGNMENT, "bob").late_submission_penalty == 4
    shutil.rmtree(exchange)


def test_durations_in_words():
    from tlhelpers.grading.deadline import duration

    assert [duration(s) for s in (12, 420, 7500, 3 * 86400 + 4 * 3600 + 59)] == ["12 s", "7 min", "2 h 5 min",
                                                                               "3 d 4 h"]
