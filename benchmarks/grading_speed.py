"""Grading speed: seconds per submission in the sandbox, and a class of 50 with 1 vs 2 workers, in one run.

The class is graded twice into one throwaway PostgreSQL gradebook (tests/postgres_server.py), first with one
worker, then with two, so the ratio isolates the parallelism. Optionally (--real) one submission of a real
assignment is timed as well. Run: .venv/bin/python benchmarks/grading_speed.py [--students 50] [--real 01_domains_and_tasks]
With --hostile: the median honest submission graded alone with the default limits, and what an endless loop and a
loop that ignores SIGINT cost, as multiples of it (issue 17, finding 5).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def _class(course: Path, students: int) -> None:
    from grading_toy import submission, submit

    answers = [{"toy_add": "def add(a, b):\n    return a + b", "toy_constant": "answer = 42",
                "toy_squares": "def squares(xs):\n    return [x * x for x in xs]"}, {},
               {"toy_add": "def add(a, b):\n    return a + b"}]
    for i in range(students):
        submit(course, f"s{i:03d}", submission(course, answers[i % len(answers)]))


def _real(assignment: str, where: Path) -> float:
    from nbgrader_course import make_course
    from tlhelpers.grading.runner import answer_keys, grade_assignment
    from tlhelpers.grading import sandbox
    from tlhelpers.layout import CourseLayout

    course = make_course(where, only=[assignment])
    for nb in (course / "solutions" / assignment).glob("*.ipynb"):
        folder = CourseLayout(course).submitted("alice", assignment)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(nb, folder / nb.name)
    answer_keys(course, assignment, sandbox.Limits())
    start = time.perf_counter()
    grade_assignment(course, assignment, progress=False)
    return time.perf_counter() - start


HOSTILE = {
    "endless loop": {"toy_add": "def add(a, b):\n    return a + b", "toy_squares": "while True:\n    pass"},
    "loop ignoring SIGINT": {"toy_add": "def add(a, b):\n    return a + b", "toy_squares":
                             "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"},
}


def _hostile(where: Path, repeats: int, honest_only: bool) -> None:
    """Seconds per submission with the default limits: the median honest one, then each hostile one as a multiple."""
    import statistics

    from grading_toy import ASSIGNMENT, make_toy_course, submission, submit
    from tlhelpers.grading.runner import grade_assignment

    course = make_toy_course(where)
    honest = submission(course, base="solution")
    submit(course, "warm", honest)
    grade_assignment(course, ASSIGNMENT, students=["warm"], progress=False)      # the key, and a warm cache
    seconds = []
    for i in range(repeats):
        submit(course, f"honest{i}", honest)
        start = time.perf_counter()
        grade_assignment(course, ASSIGNMENT, students=[f"honest{i}"], progress=False)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    print(f"toy, honest submission, default limits: median {median:.1f} s over {repeats} "
          f"({', '.join(f'{s:.1f}' for s in seconds)})")
    if honest_only:
        return
    for i, (name, answers) in enumerate(HOSTILE.items()):
        submit(course, f"hostile{i}", submission(course, answers))
        start = time.perf_counter()
        grade_assignment(course, ASSIGNMENT, students=[f"hostile{i}"], progress=False)
        spent = time.perf_counter() - start
        print(f"toy, {name}: {spent:.1f} s = {spent / median:.1f}x the median honest submission")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--real", default=None, help="also time one submission of this assignment")
    parser.add_argument("--hostile", action="store_true",
                        help="instead: time honest submissions one by one (median) and hostile ones, default limits")
    parser.add_argument("--honest-only", action="store_true", help="with --hostile: only the honest median")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.hostile:
        with tempfile.TemporaryDirectory() as tmp:
            _hostile(Path(tmp), args.repeats, args.honest_only)
        return
    from grading_toy import ASSIGNMENT, make_toy_course
    from postgres_server import throwaway_postgres
    from tlhelpers.grading.runner import grade_assignment

    print(f"# grading speed on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with throwaway_postgres() as url:
            os.environ["TLHELPERS_GRADEBOOK_URL"] = url
            course = make_toy_course(tmp)
            _class(course, args.students)
            grade_assignment(course, ASSIGNMENT, students=["s000"], progress=False)   # the key, and a warm cache
            timings = {}
            for workers in (1, 2):
                start = time.perf_counter()
                grade_assignment(course, ASSIGNMENT, workers=workers, progress=False)
                timings[workers] = time.perf_counter() - start
                print(f"toy, {args.students} submissions, {workers} worker(s): {timings[workers]:.1f} s "
                      f"({timings[workers] / args.students:.2f} s per submission)")
            print(f"speed-up with 2 workers: {timings[1] / timings[2]:.2f}x")
            del os.environ["TLHELPERS_GRADEBOOK_URL"]
        if args.real:
            seconds = _real(args.real, tmp / "real")
            print(f"{args.real}: one submission (all its notebooks) in {seconds:.1f} s")


if __name__ == "__main__":
    main()
