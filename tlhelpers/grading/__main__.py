"""Command line of the trusted autograder (one command per step of the instructor's workflow)::

    python -m tlhelpers.grading verify-release [ASSIGNMENT ...]
    python -m tlhelpers.grading collect ASSIGNMENT FOLDER_OR_ZIP
    python -m tlhelpers.grading grade ASSIGNMENT [--student S ...] [--workers N] [--shard I/N]
    python -m tlhelpers.grading release-feedback ASSIGNMENT   (feedback pages to students through nbgrader's exchange)

Grades go to nbgrader's gradebook ($TLHELPERS_GRADEBOOK_URL, else build/gradebook.db); export them with
``nbgrader export``. Feedback pages: build/feedback/<student>/<assignment>/feedback.html. Feedback says what is
wrong without the expected answers; --show-expected (or TLHELPERS_FEEDBACK_SHOW_EXPECTED=1) shows them.

``grade`` applies nbgrader's late policy to each student as their scores are recorded (in
:func:`tlhelpers.grading.runner.grade_student`, so a Python caller gets the same; a due date in the gradebook:
``nbgrader db assignment add A --duedate=...``; the penalty plugin in nbgrader_config.py): late submissions are
listed, and their feedback says how late and what the penalty took off.

``grade`` exits 0 when every submission has a recorded grade, also when some could not be checked in full (a
malformed notebook, a notebook not handed in, a run that crashed): those score 0 for what was not checked, say why
in their feedback, and are listed at the end. It exits 3 when some grade could not be recorded at all (e.g. the gradebook failed for
that student; listed with the error); every other student is still graded. Exit 1/2: the command itself failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_NOT_RECORDED = 3


def _shard(text: str) -> tuple[int, int]:
    index, _, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        raise argparse.ArgumentTypeError("--shard takes I/N, e.g. 0/4") from None
    if not 0 <= i < n:
        raise argparse.ArgumentTypeError("--shard I/N needs 0 <= I < N")
    return i, n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tlhelpers.grading", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", type=Path, default=Path("."), help="the course folder (default: here)")
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("verify-release", help="the release equals a fresh nbgrader release and leaks nothing")
    verify.add_argument("assignments", nargs="*")
    collect = sub.add_parser("collect", help="copy submissions from a folder or LMS zip into build/submitted")
    collect.add_argument("assignment")
    collect.add_argument("source", type=Path)
    grade = sub.add_parser("grade", help="autograde submissions in the sandbox (smoke profile)")
    grade.add_argument("assignment")
    grade.add_argument("--student", action="append", help="grade only this student (repeatable): a re-grade")
    grade.add_argument("--workers", type=int, default=1, help="parallel workers (more than 1 needs PostgreSQL)")
    grade.add_argument("--shard", type=_shard, help="grade every N-th submission from I (a scheduler array job)")
    grade.add_argument("--no-progress", action="store_true")
    grade.add_argument("--show-expected", action="store_true",
                       help="feedback quotes the expected answers on the probes' inputs (default: it does not)")
    release = sub.add_parser("release-feedback", help="the feedback pages into nbgrader's exchange (Fetch Feedback)")
    release.add_argument("assignment")
    args = parser.parse_args(argv)
    course = args.course.resolve()

    if args.command == "verify-release":
        from tlhelpers.grading.release import verify

        assignments = args.assignments or sorted(p.name for p in (course / "solutions").iterdir() if p.is_dir())
        problems = [p for a in assignments for p in verify(course, a)]
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"release of {', '.join(assignments)}: " + ("clean" if not problems else f"{len(problems)} problems"))
        return 1 if problems else 0
    if args.command == "collect":
        from tlhelpers.grading.collect import collect as run_collect

        report = run_collect(course, args.assignment, args.source)
        print(report.summary())
        return 0
    if args.command == "release-feedback":
        return release_feedback(course, args.assignment)
    from tlhelpers.grading.runner import grade_assignment

    if args.show_expected:
        import os

        from tlhelpers.grading.probes import SHOW_EXPECTED_VARIABLE

        os.environ[SHOW_EXPECTED_VARIABLE] = "1"     # read by probes.judge, also in worker processes

    summaries = grade_assignment(course, args.assignment, args.student, args.workers, args.shard,
                                 progress=not args.no_progress)
    failed = [s for s in summaries if "error" in s]
    late_errors = [s["late_error"] for s in summaries if s.get("late_error")]
    if late_errors:     # the runner applied the late policy per student; say once why it could not
        print(f"late penalties could not be applied ({late_errors[0]}); the grades are recorded without them",
              file=sys.stderr)
    late = {s["student"]: s["late"] for s in summaries if s.get("late")}
    for s in summaries:
        line = s.get("error") or f"{s['score']:g} / {s['max_score']:g}"
        if s["student"] in late:
            lateness = late[s["student"]]
            line += f" (late by {_duration(lateness['seconds_late'])}" + \
                (f": counts {s['score'] - lateness['penalty']:g} after the late penalty)" if lateness["penalty"]
                 else ")")
        print(f"{s['student']}: {line}")
    if late:
        print(f"{len(late)} submissions came after the deadline (each feedback page says so):")
        for student, lateness in sorted(late.items()):
            print(f"  {student}: {lateness['words']}")
    checked_in_part = [s for s in summaries if s.get("problems")]
    if checked_in_part:
        print(f"{len(checked_in_part)} submissions could not be checked in full (0 points for what was not; "
              "the reason is in their feedback):")
        for s in checked_in_part:
            print(f"  {s['student']}: {'; '.join(s['problems'])}")
    if failed:
        print(f"{len(failed)} submissions have no recorded grade (listed above with the error): exit code "
              f"{EXIT_NOT_RECORDED}", file=sys.stderr)
    return EXIT_NOT_RECORDED if failed else 0


def _duration(seconds: float) -> str:
    from tlhelpers.grading.deadline import duration

    return duration(seconds)


def release_feedback(course: Path, assignment: str) -> int:
    """Lay out the feedback pages for nbgrader, then run ``nbgrader release_feedback`` on them."""
    import os
    import subprocess

    from tlhelpers.grading.feedback import exchange_layout

    from tlhelpers.layout import CourseLayout

    folder = CourseLayout(course).grading().relative_to(course) / "exchange-feedback"   # nbgrader wants it relative
    done, skipped = exchange_layout(course, assignment, course / folder)
    for student, why in sorted(skipped.items()):
        print(f"{student}: feedback not released: {why}", file=sys.stderr)
    if not done:
        print(f"no feedback to release for {assignment}: grade it first "
              f"(python -m tlhelpers.grading grade {assignment})", file=sys.stderr)
        return 1
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "release_feedback", assignment,
                           f"--CourseDirectory.feedback_directory={folder}"], cwd=course, env=env)
    if proc.returncode == 0:
        print(f"feedback of {assignment} released for {', '.join(done)}: each sees it under Assignment List, "
              "Fetch Feedback")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
