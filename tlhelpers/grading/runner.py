"""Grade an assignment: every submission, or some students, in one or more worker processes.

One worker grades one student's submission at a time: each notebook in the sandbox, then the gradebook, the
autograded notebooks, a result file, the feedback page and nbgrader's late penalty (:mod:`.deadline`), all for that
student only (so a Python caller of :func:`grade_assignment` or :func:`grade_student` gets what the CLI gets).
Re-grading a student rewrites only that student's rows and files. Several workers need a gradebook that takes
concurrent writers (PostgreSQL via $TLHELPERS_GRADEBOOK_URL); the same worker command (``--shard i/n``) runs as jobs
on a scheduler.
"""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

import nbformat

from tlhelpers.cache import atomic_write
from tlhelpers.grading import gradebook, sandbox
from tlhelpers.grading.collect import STUDENT_ID
from tlhelpers.grading.feedback import write_feedback
from tlhelpers.grading.scoring import AnswerKey, NotebookResult, TestResult, answer_key, grade_notebook
from tlhelpers.layout import CourseLayout


def release_notebooks(course: Path, assignment: str) -> list[Path]:
    notebooks = sorted(CourseLayout(course).release(assignment).glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no released notebooks for {assignment!r} in {CourseLayout(course).release()}")
    return notebooks


def submitted_students(course: Path, assignment: str) -> list[str]:
    root = CourseLayout(course).submitted()
    return sorted(p.name for p in root.iterdir() if (p / assignment).is_dir()) if root.is_dir() else []


def answer_keys(course: Path, assignment: str, limits: sandbox.Limits) -> dict[str, AnswerKey]:
    """The key of every notebook of ``assignment`` (computed in the sandbox from the solution, then cached), each with
    its cache path and the limits sized from its cost: computed once per assignment, handed to every student."""
    layout = CourseLayout(course)
    keys_dir, work = layout.keys(assignment), layout.work(assignment, "_key")
    return {release.name: answer_key(release, layout.source(assignment) / release.name, keys_dir, work, limits)
            for release in release_notebooks(course, assignment)}


def grade_student(course: Path, assignment: str, student: str, keys: dict[str, AnswerKey], url: str,
                  limits: sandbox.Limits = sandbox.Limits()) -> dict:
    """Grade one student's submission of ``assignment`` and record everything; returns a summary dict.

    ``keys``: from :func:`answer_keys` (each notebook's key and its sized limits; ``limits`` is not used for a
    notebook that has a key).
    """
    if not STUDENT_ID.match(student):
        raise ValueError(f"{student!r} is not a valid student id")
    layout = CourseLayout(course)
    folder = layout.submitted(student, assignment)
    results: list[NotebookResult] = []
    for release in release_notebooks(course, assignment):
        source = layout.source(assignment) / release.name
        submitted = folder / release.name
        if not submitted.is_file():
            tests = [TestResult(t.grade_id, 0.0, t.max_points, ["not handed in"])
                     for t in _empty_tests(release)]
            results.append(NotebookResult(release.name, tests, [f"{release.name} was not handed in"], "not run"))
            continue
        work = layout.work(assignment, f"{student}-{release.stem}")
        key = keys[release.name]
        results.append(_grade_or_zero(release, source, submitted, key.values, work, key.limits))
    stamp = folder / "timestamp.txt"
    timestamp = stamp.read_text().strip()[:64] if stamp.is_file() else None
    try:
        gradebook.record(url, assignment, student, results, timestamp)
    except Exception:
        if timestamp is None:
            raise
        gradebook.record(url, assignment, student, results, None)   # an unparsable timestamp is not fatal
    # what the instructor should look at: notebooks not run, stopped early, malformed (each also in the feedback)
    problems = [f"{r.notebook}: {'; '.join(r.notes) if r.notes else r.status}" for r in results
                if r.status != "ok" or r.notes]
    try:
        _write_outputs(course, assignment, student, results)
    except Exception as error:  # noqa: BLE001 - the grade is recorded; a page that cannot be written is listed
        problems.append(f"the feedback could not be written ({type(error).__name__}: {str(error)[:200]})")
    summary = {"student": student, "score": sum(r.score for r in results),
               "max_score": sum(r.max_score for r in results), "problems": problems,
               "notebooks": {r.notebook: {"score": r.score, "status": r.status, "notes": r.notes,
                                          "tests": [asdict(t) for t in r.tests]} for r in results}}
    summary.update(_late(course, assignment, student, url))
    return summary


def _late(course: Path, assignment: str, student: str, url: str) -> dict:
    """nbgrader's late policy for this student's just-recorded scores (after the feedback page exists, which gets the
    late notice): ``{"late": {...}}`` when late (``seconds_late``, ``penalty``, ``words``), ``{"late": None}`` when
    on time, ``{"late_error": ...}`` when it could not be applied (the scores stay recorded without a penalty)."""
    from tlhelpers.grading.deadline import apply_late_policy

    try:
        lateness = apply_late_policy(course, assignment, [student], url=url).get(student)
    except Exception as error:  # noqa: BLE001 - the grade is recorded; the instructor must hear why no penalty
        return {"late": None, "late_error": f"{type(error).__name__}: {str(error)[:300]}"}
    if lateness is None:
        return {"late": None}
    return {"late": {"seconds_late": lateness.seconds_late, "penalty": lateness.penalty, "words": lateness.words()}}


NOT_CHECKED = "not checked"


def _grade_or_zero(release: Path, source: Path, submitted: Path, key: dict, work: Path,
                   limits: sandbox.Limits) -> NotebookResult:
    """grade_notebook, or, when grading this one notebook fails in the grader, 0 points with the reason.

    A submission can be malformed in ways no one foresaw; that must cost its own points, never the class's run.
    """
    try:
        result = grade_notebook(release, source, submitted, key, work, limits)
    except Exception as error:  # noqa: BLE001 - one notebook's failure is that notebook's result
        reason = f"{NOT_CHECKED}: the grader could not check this notebook ({type(error).__name__}); it scored 0, " \
                 "ask the instructor"
        tests = [TestResult(t.grade_id, 0.0, t.max_points, [reason]) for t in _empty_tests(release)]
        return NotebookResult(release.name, tests, [reason], reason)
    if result.status == "not run":      # the file could not be read as a notebook at all
        result.status = f"{NOT_CHECKED}: {result.notes[0] if result.notes else 'unreadable'}"
    return result


def _empty_tests(release: Path) -> list[TestResult]:
    from tlhelpers.grading.assemble import test_cells

    return [TestResult(g, 0.0, p) for g, p in test_cells(nbformat.read(release, as_version=4)).items()]


def _write_outputs(course: Path, assignment: str, student: str, results: list[NotebookResult]) -> None:
    layout = CourseLayout(course)
    autograded = layout.autograded(student, assignment)
    autograded.mkdir(parents=True, exist_ok=True)
    for result in results:
        if result.executed is not None:
            with atomic_write(autograded / result.notebook, "w") as handle:
                nbformat.write(result.executed, handle)
    write_feedback(layout.feedback(student, assignment), student, assignment, results)
    out = layout.results(assignment, student)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out, "w") as handle:
        json.dump({"student": student, "assignment": assignment,
                   "notebooks": [{"notebook": r.notebook, "status": r.status, "notes": r.notes,
                                  "tests": [asdict(t) for t in r.tests]} for r in results]}, handle, indent=1)


def _worker(args: tuple) -> dict:
    course, assignment, student, keys, url, limits = args
    try:
        return grade_student(course, assignment, student, keys, url, limits)
    except Exception as error:  # noqa: BLE001 - one student's failure must not stop the others
        return {"student": student, "error": f"{type(error).__name__}: {str(error)[:500]}"}


def grade_assignment(course: Path, assignment: str, students: list[str] | None = None, workers: int = 1,
                     shard: tuple[int, int] | None = None, limits: sandbox.Limits = sandbox.Limits(),
                     progress: bool = True) -> list[dict]:
    """Grade ``students`` (default: every submission) of ``assignment``; returns one summary per student."""
    course = Path(course).resolve()
    url = gradebook.gradebook_url(course)
    if workers > 1 and gradebook.is_sqlite(url):
        raise ValueError("parallel grading needs a gradebook that takes concurrent writers: set "
                         "TLHELPERS_GRADEBOOK_URL to a PostgreSQL URL (see the README), or use --workers 1")
    sandbox.bwrap_path()
    everyone = submitted_students(course, assignment)
    chosen = sorted(students) if students else everyone
    unknown = sorted(set(chosen) - set(everyone))
    if unknown:
        raise ValueError(f"no submission of {assignment} for {unknown} under build/submitted/ (collect first)")
    if shard is not None:
        index, count = shard
        chosen = [s for i, s in enumerate(chosen) if i % count == index]
    if not chosen:
        return []
    keys = answer_keys(course, assignment, limits)
    jobs = [(course, assignment, s, keys, url, limits) for s in chosen]
    from tqdm.auto import tqdm

    bar = tqdm(total=len(jobs), desc=f"grading {assignment}", unit="submission", disable=not progress)
    summaries = []
    if workers <= 1:
        for job in jobs:
            summaries.append(_worker(job))
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_worker, job): job for job in jobs}
            for future in as_completed(futures):
                try:
                    summaries.append(future.result())
                except Exception:  # noqa: BLE001 - a worker died (the pool is broken): grade its jobs here below
                    summaries.append(_worker(futures[future]))
                bar.update()
    bar.close()
    return sorted(summaries, key=lambda s: s["student"])
