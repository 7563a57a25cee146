"""A class with malformed and hostile submissions, graded by the command line the Makefile runs (issue 17, findings
3 and 5): each bad submission gets exactly its own score and a reason, every later student is graded, the command
exits 0 and lists them; a cell that ignores the interrupt costs its cell timeout plus a grace, not the wall limit;
what a run can write is bounded (a size-limited /tmp and working folder, one result file on the host's disk)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from tlhelpers.layout import CourseLayout

from grading_toy import ASSIGNMENT, submission, submit

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("grading_sandbox")]

ADD = "def add(a, b):\n    return a + b\n"
# writes a malformed executed notebook over the runner's, then kills the runner so that it stays
WRITES_EXECUTED = ADD + ("import json, os, signal\n_nb = {'metadata': {'tlgrader': {'status': 'ok'}}, 'cells': [5, "
                         "{'cell_type': 'code', 'source': [1], 'metadata': [], 'outputs': [{'output_type': 'error', "
                         "'ename': 1, 'traceback': [1, {}]}]}]}\n"
                         "open('/grading/out/executed.ipynb', 'w').write(json.dumps(_nb))\n"
                         "os.kill(os.getppid(), signal.SIGKILL)\n")


def _class(course: Path) -> dict[str, tuple[dict, float]]:
    """student -> (submission, the exact score it must get); graded in name order."""
    metadata_list = submission(course, base="solution")
    metadata_list["cells"][0]["metadata"] = []
    source_ints = submission(course, base="solution")
    next(c for c in source_ints["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "toy_add")[
        "source"] = [1, 2, 3]
    return {
        "a_honest": (submission(course, base="solution"), 4),
        "b_huge_number": (submission(course, {"toy_add": "def add(a, b):\n    return 10**400"}), 0),
        "c_source_ints": (source_ints, 3),
        "d_metadata_list": (metadata_list, 4),
        "e_writes_executed": (submission(course, {"toy_add": WRITES_EXECUTED}), 0),
        "f_grader_crash": (submission(course, base="solution"), 0),    # the grader itself fails on this one
        "z_honest_after": (submission(course, base="solution"), 4),
    }


def test_a_class_with_bad_submissions_is_graded_to_the_end(toy_course, monkeypatch, capsys):
    from tlhelpers.grading import runner
    from tlhelpers.grading.__main__ import main

    course = toy_course
    plan = _class(course)
    for student, (nb, _) in plan.items():
        submit(course, student, nb)
    real = runner.grade_notebook

    def crashing(release, source, submitted, *args, **kwargs):
        if "f_grader_crash" in str(submitted):
            raise RuntimeError("an unforeseen failure in the grader")
        return real(release, source, submitted, *args, **kwargs)

    monkeypatch.setattr(runner, "grade_notebook", crashing)
    code = main(["--course", str(course), "grade", ASSIGNMENT, "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0, out
    for student, (_, expected) in plan.items():
        assert f"{student}: {expected:g} / 4" in out, out
        result = json.loads(CourseLayout(course).results(ASSIGNMENT, student).read_text())
        assert sum(t["points"] for t in result["notebooks"][0]["tests"]) == expected
    listed = out.split("could not be checked in full")[1]
    assert [line.split(":")[0].strip() for line in listed.splitlines()[1:]] == \
        ["c_source_ints", "e_writes_executed", "f_grader_crash"], out
    assert "the answer 'toy_add' is not text" in listed and "RuntimeError" in listed
    feedback = lambda s: CourseLayout(course).feedback(s, ASSIGNMENT).read_text()  # noqa: E731
    assert "the answer could not be compared with the expected one (OverflowError)" in feedback("b_huge_number")
    assert "the run left no readable notebook" not in feedback("e_writes_executed")      # it left one: malformed
    assert "malformed cells in the executed notebook were not read" in feedback("e_writes_executed")
    assert "the grader could not check this notebook (RuntimeError); it scored 0" in feedback("f_grader_crash")


def test_a_cell_ignoring_the_interrupt_costs_its_timeout_not_the_wall_limit(toy_course):
    from tlhelpers.grading import sandbox
    from tlhelpers.grading.runner import grade_assignment

    course = toy_course
    submit(course, "honest", submission(course, base="solution"))
    submit(course, "ignores_sigint", submission(course, {"toy_add": ADD, "toy_squares":
                                                         "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)"
                                                         "\nwhile True:\n    pass"}))
    limits = sandbox.Limits(wall_seconds=300, cell_timeout=10)
    grade_assignment(course, ASSIGNMENT, students=["honest"], limits=limits, progress=False)   # the key, warm
    timings = {}
    for student in ("honest", "ignores_sigint"):
        started = time.perf_counter()
        summary, = grade_assignment(course, ASSIGNMENT, students=[student], limits=limits, progress=False)
        timings[student] = time.perf_counter() - started
        assert summary["score"] == {"honest": 4, "ignores_sigint": 1}[student]
    print(f"honest {timings['honest']:.1f} s, SIGINT-ignoring loop {timings['ignores_sigint']:.1f} s "
          f"({timings['ignores_sigint'] / timings['honest']:.1f}x) with cell timeout 10 s, wall limit 300 s")
    # cell timeout 10 s + grace 10 s + the honest cost; before, the loop held the worker for the 300 s wall limit
    assert timings["ignores_sigint"] < timings["honest"] + 10 + 10 + 30
    notes = summary["notebooks"]["toy.ipynb"]["notes"]
    assert any("ignored the interrupt: its kernel was killed" in n for n in notes), notes


BOUNDS_PROBE = r'''
import json, os
result = {}
def fill(path, chunk=b"x" * 2**20, most=64):
    written = 0
    try:
        with open(path, "wb") as handle:
            for _ in range(most):
                handle.write(chunk); handle.flush(); written += len(chunk)
    except OSError as error:
        result[path + " error"] = error.strerror
    return written
result["tmp"] = fill("/tmp/big")
result["run"] = fill("/grading/run/big")
for name, action in [("new file in /grading", lambda: open("/grading/x", "w")),
                     ("new file in out", lambda: open("/grading/out/x", "w")),
                     ("remove result", lambda: os.remove("/grading/out/executed.ipynb")),
                     ("replace out", lambda: os.rename("/grading/out", "/grading/out2")),
                     ("link in run", lambda: os.symlink("/etc/passwd", "/grading/run/l"))]:
    try:
        action()
        result[name] = "allowed"
    except OSError as error:
        result[name] = error.strerror
open("/grading/out/executed.ipynb", "w").write(json.dumps(result))
'''


def test_a_run_can_write_only_bounded_space(tmp_path):
    from tlhelpers.grading import sandbox
    from tlhelpers.grading.safe_files import read_regular

    work = tmp_path / "work"
    work.mkdir()
    (work / "probe.py").write_text(BOUNDS_PROBE)
    sandbox.prepare_workdir(work)
    limits = sandbox.Limits(wall_seconds=60, tmp_bytes=8 * 2**20, run_bytes=4 * 2**20)
    python = str(Path(sys.prefix).resolve() / "bin" / "python")
    ran = sandbox.run(work, [python, str(sandbox.INSIDE / "probe.py")], limits)
    assert ran.returncode == 0, ran.log
    result = json.loads(read_regular(work, sandbox.RESULT))
    assert result["tmp"] <= 8 * 2**20 and result["run"] <= 4 * 2**20, result
    assert result["/tmp/big error"] == result["/grading/run/big error"] == "No space left on device"
    assert result["new file in /grading"] == result["new file in out"] == "Read-only file system"
    assert result["remove result"] in ("Read-only file system", "Device or resource busy")
    assert result["replace out"] in ("Read-only file system", "Device or resource busy")
    assert result["link in run"] == "allowed"                    # inside its own tmpfs, gone after the run
    # nothing else reached the host's disk: the big files and the link lived in the sandbox's tmpfs
    assert sorted(p.relative_to(work).as_posix() for p in work.rglob("*")) == \
        ["out", "out/executed.ipynb", "probe.py", "run"]
