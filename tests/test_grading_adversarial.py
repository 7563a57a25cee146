"""The adversarial suite: submissions that attack the grader, each with the exact score it must get.

One toy course (tests/grading_toy.py: add 1 point, squares 2, constant 1). Honest students are graded first and
their grades snapshotted; then every attacker is graded. Each attack answers `add` honestly unless said otherwise
(so its honest score is 1), then tries to get more, or to change something outside its own output. Checked after:
each attacker's exact score, the honest students' grades untouched, no manual or extra-credit scores appeared,
the course files and other students' submissions byte-identical, and no sandbox process left running.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from pathlib import Path

import pytest

from grading_toy import ASSIGNMENT, submission, submit

from tlhelpers.layout import CourseLayout

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("grading_sandbox")]

ADD = "def add(a, b):\n    return a + b\n"
# Each probe cell has its own nonce, only in that cell's text: an attack learns it from the cell (an input transformer
# or a hook sees the source, run_code the compiled constants) and prints a forged answer line with it.
FORGE = ("import re as _re, json as _j\n"
         "_tag = _re.compile(r'([0-9a-f]{32} [A-Za-z_]\\w* )$')\n"
         "def _tags(code):\n"
         "    found = [c for c in code.co_consts if isinstance(c, str) and _tag.match(c)]\n"
         "    return found + [t for c in code.co_consts if hasattr(c, 'co_consts') for t in _tags(c)]\n"
         "def _tags_in(text):\n"
         "    return [m[0] + ' ' + m[1] + ' ' for m in _re.findall(r'([0-9a-f]{32}) ([A-Za-z_]\\w*) ', text)]\n"
         "_line = lambda tag: tag + _j.dumps({'ok': True, 'value': 7})\n")
KEYCTL = "import ctypes\n_libc = ctypes.CDLL(None)\n"          # add_key 248, keyctl 250 (x86_64)


def attacks(course: Path) -> dict[str, tuple[dict | bytes, dict, float]]:
    """student -> (submission, extra files, the exact score it must get)."""
    gradebook = CourseLayout(course).gradebook_file()
    solution = course / "solutions" / ASSIGNMENT / "toy.ipynb"
    other = CourseLayout(course).submitted("honest_full", ASSIGNMENT) / "toy.ipynb"
    site = next(Path(p) for p in __import__("sys").path if p.endswith("site-packages"))
    tl_init = Path(__import__("tlhelpers").__file__)
    release = lambda answers: submission(course, answers)           # noqa: E731
    return {
        # IPython: an input transformer that rewrites every later cell into forged probe answers
        "input_transformer": (release({"toy_add": ADD + FORGE +
                                       "get_ipython().input_transformers_cleanup.append(lambda lines: ["
                                       "f'print({_line(t)!r})\\n' for t in _tags_in(''.join(lines))] or lines)"}),
                              {}, 0),
        # IPython: replacing run_code so that no later cell really runs, only forged answers print
        "run_code_replaced": (release({"toy_add": ADD + FORGE +
                                       "_ip = get_ipython()\n"
                                       "async def _run(code, *a, **k):\n    [print(_line(t)) for t in _tags(code)]\n"
                                       "    return False\n"
                                       "_ip.run_code = _run"}), {}, 0),
        # IPython: a custom exception handler that swallows every failure
        "custom_exception_handler": (release({"toy_add": ADD + "get_ipython().set_custom_exc((BaseException,), "
                                              "lambda *a, **k: print('all good'))"}), {}, 1),
        # a post-run hook that prints forged answers after every cell (the last answer line would win)
        "post_run_hook": (release({"toy_add": ADD + FORGE +
                                   "get_ipython().events.register('post_run_cell', "
                                   "lambda r: [print(_line(t)) for t in _tags_in(r.info.raw_cell or '')])"}), {}, 0),
        # the old reporter wrapped: nothing of the grader's is in the globals any more, so the wrapper never runs
        "wraps_reporter": (release({"toy_add": ADD + "__tl_report = lambda name, f: print('wrapped')\n"
                                    "__tl_plain = lambda v, depth=0: 42\n"}), {}, 1),
        # reaching into the probe's frame from the student's function: its locals and the answer it is building
        "rewrites_probe_frame": (release({"toy_add": ADD, "toy_squares":
                                          "import sys\ndef squares(xs):\n    f = sys._getframe(1)\n"
                                          "    while f is not None:\n"
                                          "        for k, v in list(f.f_locals.items()):\n"
                                          "            if isinstance(v, list):\n                v[:] = [9, 4, 1, 0, 1, 4, 9]\n"
                                          "        f = f.f_back\n"
                                          "    return [0] * len(xs)"}), {}, 1),
        # the kernel's messaging: error replies rewritten as success (nbgrader's own scoring trusts these)
        "error_replies_hidden": (release({"toy_add": ADD +
                                          "_s = get_ipython().kernel.session\n_send = _s.send\n"
                                          "def _quiet(stream, msg, content=None, *a, **k):\n"
                                          "    if isinstance(content, dict) and content.get('status') == 'error':\n"
                                          "        content = {**content, 'status': 'ok'}\n"
                                          "    return _send(stream, msg, content, *a, **k)\n"
                                          "_s.send = _quiet\n"}), {}, 1),
        # print swallowed: no answers come back at all (not even the honest one)
        "print_swallowed": (release({"toy_add": ADD + "import builtins\nbuiltins.print = lambda *a, **k: None"}),
                            {}, 0),
        # reading the calling test's source for the expected value
        "reads_test_source": (release({"toy_add": ADD, "toy_squares":
                                       "def squares(xs):\n    import inspect, re\n"
                                       "    src = ''.join(inspect.stack()[1].code_context or [])\n"
                                       "    found = re.findall(r'== \\[(.*?)\\]', src)\n"
                                       "    return [int(v) for v in found[0].split(',')] if found else []"}), {}, 1),
        # numpy's testing functions and builtins monkeypatched
        "monkeypatched_numpy": (release({"toy_add": ADD + "import numpy, numpy.testing\n"
                                         "numpy.testing.assert_allclose = lambda *a, **k: None\n"
                                         "numpy.allclose = lambda *a, **k: True\n"
                                         "numpy.array_equal = lambda *a, **k: True\n"}), {}, 1),
        # objects that compare equal to anything, and a lying float subclass
        "equal_to_anything": (release({"toy_add": ADD, "toy_squares":
                                       "class _Any:\n    __eq__ = lambda s, o: True\n    __ne__ = lambda s, o: False\n"
                                       "def squares(xs):\n    return _Any()",
                                       "toy_constant": "class _F(int):\n    __eq__ = lambda s, o: True\n"
                                                       "answer = _F(0)"}), {}, 1),
        # an extra module beside the notebook that would shadow numpy (here: it breaks numpy if imported)
        "shadow_module": (submission(course, base="solution"),
                          {"numpy.py": "raise ImportError('the shadowing numpy.py was imported')\n"}, 4),
        # reading the instructor's solution and probe files from disk
        "reads_instructor_files": (release({"toy_add": "import json\n"
                                            f"_nb = json.load(open({str(solution)!r}))\n"
                                            "exec(''.join(_nb['cells'][2]['source']))\n"
                                            f"open({str(solution.with_name('toy.probes.py'))!r}).read()"}), {}, 0),
        # writing to the SQLite gradebook: own manual scores and everyone's auto scores
        "writes_gradebook": (release({"toy_add": ADD + "import sqlite3\ntry:\n"
                                      f"    _c = sqlite3.connect({str(gradebook)!r})\n"
                                      "    _c.execute('update grade set manual_score = 99, extra_credit = 5')\n"
                                      "    _c.commit()\nexcept Exception as e:\n    print('blocked:', e)"}), {}, 1),
        # a background process that outlives the run and writes the gradebook later
        "background_process": (release({"toy_add": ADD + "import subprocess, sys\n"
                                        f"subprocess.Popen([sys.executable, '-c', {_late_writer(gradebook)!r}],"
                                        " start_new_session=True)\n"
                                        "subprocess.Popen(['sh', '-c', 'sleep 1000 & sleep 1000 &'])\n"}), {}, 1),
        # files planted for later runs: IPython startup, .pth in the environment, helper module, another submission
        "plants_files": (release({"toy_add": ADD + "import os\n"
                                  "for _p, _t in [(os.path.expanduser('~/.ipython/profile_default/startup/0.py'),"
                                  " 'answer = 42'),"
                                  f" ({str(site / 'evil.pth')!r}, 'import os'),"
                                  f" ({str(tl_init)!r}, 'raise SystemExit'),"
                                  f" ({str(other)!r}, '{{}}')]:\n"
                                  "    try:\n        os.makedirs(os.path.dirname(_p), exist_ok=True)\n"
                                  "        open(_p, 'a').write(_t)\n"
                                  "    except Exception as e:\n        print('blocked:', type(e).__name__)\n"}), {}, 1),
        # printing the kernel's history (which holds the probe code) into the outputs, hence the feedback
        "leaks_probes": (release({"toy_add": ADD + "get_ipython().events.register('post_run_cell', "
                                  "lambda r: print(list(In)))"}), {}, 1),
        # a 50 MB output line (and an honest solution otherwise)
        "huge_output": (submission(course, {"toy_constant": "answer = 42\nprint('x' * 50_000_000)"},
                                   base="solution"), {}, 4),
        # sys.exit after an honest answer: IPython catches it, the run goes on
        "sys_exit": (release({"toy_add": ADD + "import sys\nsys.exit(0)"}), {}, 1),
        # a kernel that kills itself: what ran before keeps its points
        "kills_kernel": (release({"toy_add": ADD, "toy_squares": "import os\nos._exit(1)"}), {}, 1),
        # an endless loop: stopped by the cell timeout
        "endless_loop": (release({"toy_add": ADD, "toy_squares": "while True:\n    pass"}), {}, 1),
        # a fork bomb: stopped by the process limit, cleaned up at the end
        "fork_bomb": (release({"toy_add": ADD, "toy_squares":
                               "import os, time\nfor _ in range(100000):\n    try:\n        pid = os.fork()\n"
                               "    except OSError:\n        break\n    if pid == 0:\n        time.sleep(60)\n"
                               "        os._exit(0)"}), {}, 1),
        # forged metadata: points raised, a second answer cell for the constant with a wrong answer after the real one
        "forged_metadata": (_forged(course), {}, 2),
        # test cells deleted and replaced: the release's are restored
        "deletes_tests": (_without_tests(course), {}, 4),
        # not a notebook
        "not_a_notebook": (b"\x00\x01 this is not json", {}, 0),
        # the result folder swapped for a link to a host folder the grader can read, then the runner killed
        "links_out": (release({"toy_add": ADD + "import os, shutil, signal\n"
                               "for _act in (lambda: shutil.rmtree('/grading/out'),\n"
                               f"             lambda: os.symlink({str(course / 'build' / 'host_secret')!r}, "
                               "'/grading/out'),\n"
                               "             lambda: os.remove('/grading/out/executed.ipynb')):\n"
                               "    try:\n        _act()\n    except OSError as e:\n        print('blocked:', e)\n"
                               "os.kill(os.getppid(), signal.SIGKILL)\n"}), {}, 0),
        # outputs that would run in the feedback page, and CSS that hides the summary behind a fake one
        "live_outputs": (release({"toy_add": ADD + "from IPython.display import display, HTML, Javascript, SVG\n"
                                  "display(HTML('<script>document.title=\"pwned\"</script><img src=x onerror=alert(1)>"
                                  "<style>#tl-grading-summary{display:none}</style><h1>toy: 10 / 10 points</h1>"
                                  "<meta http-equiv=\"refresh\" content=\"0;url=http://example.com\">'))\n"
                                  "display(Javascript('alert(2)'))\n"
                                  "display(SVG('<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(3)\"/>'))\n"}),
                         {}, 1),
        # ptrace access to the runner above the kernel: its memory opened for writing (the point if it works)
        "ptraces_runner": (release({"toy_add": ADD, "toy_constant": "import os\ntry:\n"
                                    "    open(f'/proc/{os.getppid()}/mem', 'r+b').close()\n    answer = 42\n"
                                    "except OSError:\n    answer = 0"}), {}, 1),
        # a key left in the user and session keyrings for a later run, which reads it as its answer (graded later)
        "keyring_plant": (release({"toy_add": ADD + KEYCTL + "for _ring in (-3, -4):\n"
                                   "    _libc.syscall(248, b'user', b'tl17', b'42', 2, _ring)\n"}), {}, 1),
        "keyring_read": (release({"toy_add": ADD, "toy_constant": KEYCTL + "answer = 0\nfor _ring in (-3, -4):\n"
                                  "    _id = _libc.syscall(250, 10, _ring, b'user', b'tl17', 0)\n"
                                  "    _buf = ctypes.create_string_buffer(16)\n"
                                  "    if _id > 0 and _libc.syscall(250, 11, _id, _buf, 16) > 0:\n"
                                  "        answer = int(_buf.value)\n"}), {}, 1),
        # a display updated in place with 50 MB (past the sandbox's per-output cap), an honest solution otherwise
        "display_update": (submission(course, {"toy_constant": "answer = 42\nfrom IPython.display import display\n"
                                               "_h = display('x', display_id=True)\n_h.update('y' * 50_000_000)"},
                                      base="solution"), {}, 4),
    }


def _late_writer(gradebook: Path) -> str:
    """Code for a process that waits until grading is over, then writes the gradebook."""
    return (f"import time, sqlite3; time.sleep(4); c = sqlite3.connect({str(gradebook)!r}); "
            "c.execute('update grade set manual_score = 77'); c.commit()")


def _forged(course: Path) -> dict:
    nb = submission(course, {"toy_add": ADD, "toy_constant": "answer = 42"})
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            meta["points"] = 100
    duplicate = {"cell_type": "code", "execution_count": None, "outputs": [], "source": "answer = 0",
                 "metadata": {"nbgrader": {"grade_id": "toy_constant", "solution": True, "grade": False,
                                           "locked": False, "schema_version": 3, "task": False}}}
    nb["cells"].append(duplicate)
    return nb


def _without_tests(course: Path) -> dict:
    nb = submission(course, base="solution")
    nb["cells"] = [c for c in nb["cells"] if not c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    nb["cells"].append({"cell_type": "code", "execution_count": None, "outputs": [], "metadata": {},
                        "source": "print('tests passed')"})
    return nb


def _tree_digest(*roots: Path) -> dict[str, str]:
    digests = {}
    for root in roots:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in (p for p in files if "__pycache__" not in p.parts):
            digests[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def _package_files() -> list[Path]:
    """The helper package's entry module (the attack's target) and the grader itself."""
    package = Path(__import__("tlhelpers").__file__).parent
    return [package / "__init__.py", package / "grading"]


def _grades(gradebook: Path) -> dict[tuple, tuple]:
    with sqlite3.connect(gradebook) as db:
        rows = db.execute("select student.id, base_cell.name, grade.auto_score, grade.manual_score, "
                          "grade.extra_credit from grade join submitted_notebook on grade.notebook_id = "
                          "submitted_notebook.id join submitted_assignment on submitted_notebook.assignment_id = "
                          "submitted_assignment.id join student on submitted_assignment.student_id = student.id "
                          "join base_cell on grade.cell_id = base_cell.id").fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


def _sandbox_processes() -> list[str]:
    """Processes still running as one of this test process's sandbox uids (other sessions' use other uids)."""
    from tlhelpers.grading.sandbox import sandbox_uid_range

    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        uid = int(text.split("Uid:")[1].split()[0])
        if uid in sandbox_uid_range() and os.geteuid() == 0:
            found.append(f"pid {status.parent.name}: {text.splitlines()[0]}")
    return found


def test_attacks_score_only_what_they_earn(toy_course):
    from tlhelpers.grading import sandbox
    from tlhelpers.grading.runner import grade_assignment

    course = toy_course
    limits = sandbox.Limits(wall_seconds=120, cell_timeout=15, max_processes=64)
    submit(course, "honest_full", submission(course, base="solution"))
    submit(course, "honest_blank", submission(course))
    honest = {s["student"]: s["score"] for s in grade_assignment(course, ASSIGNMENT, limits=limits, progress=False)}
    assert honest == {"honest_full": 4, "honest_blank": 0}
    gradebook = CourseLayout(course).gradebook_file()
    before_grades = _grades(gradebook)
    secret = course / "build" / "host_secret"           # a folder of the grader's host, with a notebook in it
    secret.mkdir()
    secret_nb = submission(course, base="solution")
    secret_nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "HOST-SECRET\n"}]
    (secret / "executed.ipynb").write_text(__import__("json").dumps(secret_nb))
    plan = attacks(course)
    for student, (nb, extra, _) in plan.items():
        submit(course, student, nb, extra)
    guarded = _tree_digest(course / "solutions", course / "notebooks", *_package_files(),
                           CourseLayout(course).submitted("honest_full"), CourseLayout(course).grading() / "keys")
    guarded[str(course / "nbgrader_config.py")] = hashlib.sha256((course / "nbgrader_config.py").read_bytes()).hexdigest()

    started = time.perf_counter()
    summaries = grade_assignment(course, ASSIGNMENT, students=sorted(plan), limits=limits, progress=False)
    elapsed = time.perf_counter() - started
    time.sleep(6)                      # longer than the background attacker waits before it writes

    problems = []
    got = {s["student"]: s.get("score", s.get("error")) for s in summaries}
    for student, (_, _, expected) in plan.items():
        if got.get(student) != expected:
            problems.append(f"{student}: scored {got.get(student)}, must be exactly {expected}")
    after_grades = _grades(gradebook)
    for key, value in before_grades.items():
        if after_grades.get(key) != value:
            problems.append(f"an honest student's grade changed: {key}: {value} -> {after_grades.get(key)}")
    forged = {k: v for k, v in after_grades.items() if v[1] is not None or v[2] is not None}
    if forged:
        problems.append(f"manual scores or extra credit appeared: {forged}")
    now = _tree_digest(course / "solutions", course / "notebooks", *_package_files(),
                       CourseLayout(course).submitted("honest_full"), CourseLayout(course).grading() / "keys")
    now[str(course / "nbgrader_config.py")] = hashlib.sha256((course / "nbgrader_config.py").read_bytes()).hexdigest()
    if now != guarded:
        changed = sorted(set(now.items()) ^ set(guarded.items()))
        problems.append(f"course files changed: {changed[:5]}")
    left = _sandbox_processes()
    if left:
        problems.append(f"processes left behind: {left}")
    feedback = CourseLayout(course).feedback("leaks_probes", ASSIGNMENT).read_text()
    for secret in ("add_values", "17, 25", "__tl_report"):
        if secret in feedback:
            problems.append(f"the feedback of leaks_probes quotes grading code ({secret!r})")
    huge = CourseLayout(course).feedback("huge_output", ASSIGNMENT)
    if huge.stat().st_size > 3_000_000:
        problems.append(f"a 50 MB output reached the feedback whole ({huge.stat().st_size} bytes)")
    shown = CourseLayout(course).feedback("display_update", ASSIGNMENT)
    if shown.stat().st_size > 3_000_000:
        problems.append(f"a 50 MB display update reached the feedback whole ({shown.stat().st_size} bytes)")
    if "HOST-SECRET" in CourseLayout(course).feedback("links_out", ASSIGNMENT).read_text():
        problems.append("a host file the result folder was linked to reached the feedback")
    live = CourseLayout(course).feedback("live_outputs", ASSIGNMENT).read_text().lower()
    for tag in ("<script", "<img src=x", "<style>#tl", "<svg", "http-equiv=\"refresh"):
        if tag in live:
            problems.append(f"a live output reached the feedback: {tag}")
    if live.index("tl-grading-summary") > live.index("class='tl-cell'"):
        problems.append("student content comes before the grader's summary")
    bad = CourseLayout(course).feedback("not_a_notebook", ASSIGNMENT).read_text()
    if "not a notebook" not in bad:
        problems.append("the feedback for an unreadable file does not say it is not a notebook")
    # an honest student graded after all that still gets exactly full points
    submit(course, "honest_after", submission(course, base="solution"))
    after = grade_assignment(course, ASSIGNMENT, students=["honest_after"], limits=limits, progress=False)
    if after[0].get("score") != 4:
        problems.append(f"an honest submission graded after the attacks got {after[0]}")
    print(f"graded {len(plan)} attacks in {elapsed:.1f} s")
    assert not problems, "\n".join(problems)
