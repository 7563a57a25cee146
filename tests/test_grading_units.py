"""Unit tests of the trusted grader's pieces that need no sandbox: comparison, answer parsing, probe files,
assembling the graded notebook, reading submissions, collecting from folders and zips."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import nbformat
import pytest

from tlhelpers.grading.assemble import PROBE_TAG, assemble, without_probes
from tlhelpers.grading.collect import collect, match
from tlhelpers.grading.probes import compare, judge, load_probes, parse_report, probe
from tlhelpers.grading.scoring import read_submission
from tlhelpers.layout import CourseLayout

PROBE_FILE = '''
from tlhelpers.grading.probes import probe

def _same_length(got, expected):
    return None if len(got) == len(expected) else "wrong length"

@probe("t_tests", rtol=1e-3)
def second():
    return f(2)

@probe("t_tests", judge=_same_length, what="the list")
def first():
    import numpy as np
    return list(range(3))
'''


def test_compare_numbers_structures_and_types():
    assert compare(1.0, 1.0) is None
    assert compare(1.0 + 1e-9, 1.0, rtol=1e-6) is None
    assert "expected 1" in compare(1.1, 1.0)
    assert compare(float("nan"), float("nan")) is None
    assert compare(True, 1) is not None and compare(1, True) is not None     # bools are not numbers
    assert "length 2, expected 3" in compare([1, 2], [1, 2, 3])
    assert "answer[1]" in compare([1, 5], [1, 2])
    assert "missing ['b']" in compare({"a": 1}, {"a": 1, "b": 2})
    assert "answer['a']" in compare({"a": "x"}, {"a": "y"})
    assert compare("x", "x") is None and compare(None, None) is None
    assert "should be a list" in compare(7, [7])


def test_parse_report_takes_the_last_valid_line_of_its_probe():
    text = "noise\nN p {\"ok\": true, \"value\": 1}\nN other {\"ok\": true, \"value\": 9}\nN p not json\n" \
           "N p {\"ok\": false, \"error\": \"E\"}\nX p {\"ok\": true, \"value\": 3}\n"
    assert parse_report(text, "N", "p") == {"ok": False, "error": "E"}
    assert parse_report("N p [1]\n", "N", "p") is None                  # not a report object
    assert parse_report("N p " + "[" * 100000 + "\n", "N", "p") is None   # hostile nesting is no crash
    assert parse_report("", "N", "p") is None


def test_load_probes_keeps_file_order_and_strips_decorators(tmp_path):
    path = tmp_path / "nb.probes.py"
    path.write_text(PROBE_FILE)
    probes = load_probes(path)
    assert [p.name for p in probes] == ["second", "first"]
    assert probes[0].rtol == 1e-3 and probes[0].test_grade_id == "t_tests"
    assert not probes[0].body.startswith("@") and probes[0].body.startswith("def second():")
    assert probes[1].description == "the list"
    assert judge(probes[1], {"ok": True, "value": [0, 1]}, [0, 1, 2]) == "the list: wrong length"
    assert judge(probes[0], None, 4).endswith("no answer came back (the notebook stopped before this check ran)")
    assert "NotImplementedError" in judge(probes[0], {"ok": False, "error": "NotImplementedError: x"}, 4)
    with pytest.raises(FileNotFoundError, match="probe file"):
        load_probes(tmp_path / "missing.probes.py")
    with pytest.raises(ValueError):
        probe("t", rtol=-1)


def _release() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    answer = {"nbgrader": {"grade_id": "a", "solution": True, "grade": False, "locked": False}}
    test = {"nbgrader": {"grade_id": "t_tests", "solution": False, "grade": True, "locked": True, "points": 2}}
    nb.cells = [nbformat.v4.new_markdown_cell("# x"), nbformat.v4.new_code_cell("raise NotImplementedError", metadata=answer),
                nbformat.v4.new_code_cell("assert f(1) == 2", metadata=test), nbformat.v4.new_code_cell("print(1)")]
    return nb


def test_assemble_takes_only_answer_cells_from_the_submission(tmp_path):
    path = tmp_path / "nb.probes.py"
    path.write_text(PROBE_FILE)
    probes = load_probes(path)
    submission = json.loads(nbformat.writes(_release()))
    submission["cells"][1]["source"] = "def f(x):\n    return 2 * x"
    submission["cells"][2]["source"] = "pass  # the student emptied the test"
    submission["cells"][2]["metadata"]["nbgrader"]["points"] = 99
    submission["cells"][3]["source"] = "import os; os.system('evil')"
    submission["cells"].append({"cell_type": "code", "source": "def f(x): return 0", "outputs": [],
                                "metadata": {"nbgrader": {"grade_id": "a", "solution": True}}})
    built = assemble(_release(), submission, probes, {"first": "NONCE1", "second": "NONCE2"})
    sources = [c.source for c in built.notebook.cells]
    assert sources[2] == "def f(x):\n    return 2 * x"
    assert sources[3] == "assert f(1) == 2"                      # the release's test, restored
    assert [c.metadata[PROBE_TAG]["probe"] for c in built.notebook.cells[4:6]] == ["second", "first"]
    assert sources[6] == "print(1)"                              # lecture cells come from the release
    assert "NONCE2 second" in sources[4] and "NONCE1 first" in sources[5] and len(built.notebook.cells) == 7
    assert "NONCE" not in sources[0]                            # no nonce before the probe cell that uses it
    assert any("two cells claim the answer 'a'" in n for n in built.notes)
    nbformat.validate(built.notebook)


def test_assemble_refuses_a_test_cell_without_probe(tmp_path):
    path = tmp_path / "nb.probes.py"
    path.write_text("from tlhelpers.grading.probes import probe\n@probe('other')\ndef p():\n    return 1\n")
    with pytest.raises(ValueError, match="without a probe"):
        assemble(_release(), {"cells": []}, load_probes(path), {"p": "N"})


def test_without_probes_hides_grading_code_from_feedback():
    nb = _release()
    nb.cells.append(nbformat.v4.new_code_cell("x", metadata={PROBE_TAG: {"probe": "p"}}))
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text="def second(): leaked")]
    shown = without_probes(nb, ["def second("])
    assert len(shown.cells) == 4 and "removed" in shown.cells[3].outputs[0]["text"]


def test_read_submission_explains_what_is_wrong(tmp_path):
    (tmp_path / "bad.ipynb").write_bytes(b"\x00 not json")
    assert "not valid JSON" in read_submission(tmp_path / "bad.ipynb")[1]
    (tmp_path / "list.ipynb").write_text("[1, 2]")
    assert "no cells" in read_submission(tmp_path / "list.ipynb")[1]
    (tmp_path / "link.ipynb").symlink_to(tmp_path / "list.ipynb")
    assert "link" in read_submission(tmp_path / "link.ipynb")[1]
    assert read_submission(tmp_path / "missing.ipynb")[0] is None


def test_match_names_folder_and_lms_styles():
    notebooks = ["fine_tuning_keras", "fine_tuning_pytorch"]
    assert match("alice/fine_tuning_keras.ipynb", notebooks)[:2] == ("alice", "fine_tuning_keras")
    assert match("bob_12345_678_fine_tuning_pytorch-1.ipynb", notebooks)[:2] == ("bob", "fine_tuning_pytorch")
    assert match("random.ipynb", notebooks)[0] is None
    assert match("a b/fine_tuning_keras.ipynb", notebooks)[0] is None      # not a usable student id
    assert match("../../eve_fine_tuning_keras.ipynb", notebooks)[:2] == ("eve", "fine_tuning_keras")  # name only


def _course(tmp_path: Path) -> Path:
    course = tmp_path / "course"
    release = course / "notebooks" / "a1"
    release.mkdir(parents=True)
    for name in ("one", "two"):
        nbformat.write(nbformat.v4.new_notebook(), release / f"{name}.ipynb")
    return course


def test_collect_from_zip_reports_unmatched_missing_and_duplicates(tmp_path):
    course = _course(tmp_path)
    archive = tmp_path / "lms.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(zipfile.ZipInfo("alice_1_one.ipynb", (2026, 1, 1, 10, 0, 0)), "{}")
        z.writestr(zipfile.ZipInfo("alice_1_two.ipynb", (2026, 1, 1, 10, 0, 0)), "{}")
        z.writestr(zipfile.ZipInfo("bob_2_one.ipynb", (2026, 1, 1, 9, 0, 0)), '{"old": 1}')
        z.writestr(zipfile.ZipInfo("bob_2_one-1.ipynb", (2026, 1, 2, 9, 0, 0)), '{"new": 1}')
        z.writestr(zipfile.ZipInfo("../../escape_one.ipynb", (2026, 1, 1, 9, 0, 0)), "{}")
        z.writestr(zipfile.ZipInfo("notes.ipynb", (2026, 1, 1, 9, 0, 0)), "{}")
    report = collect(course, "a1", archive)
    # the zip's paths are never used as paths: "../../escape_one.ipynb" is student "escape", inside the course
    assert report.collected == {"alice": ["one", "two"], "bob": ["one"], "escape": ["one"]}
    assert report.missing == {"bob": ["two"], "escape": ["two"]}
    assert report.duplicates[0]["kept"] == "bob_2_one-1.ipynb"
    assert (CourseLayout(course).submitted("bob", "a1") / "one.ipynb").read_text() == '{"new": 1}'
    assert [u["file"] for u in report.unmatched] == ["notes.ipynb"]
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.ipynb")}
    assert all(w.startswith("course/") for w in written), written
    assert "bob did not hand in two" in report.summary()
    assert json.loads(CourseLayout(course).collect_report("a1").read_text())["missing"]["bob"] == ["two"]


def test_collect_from_folder_per_student(tmp_path):
    course = _course(tmp_path)
    source = tmp_path / "subs"
    (source / "carol").mkdir(parents=True)
    (source / "carol" / "one.ipynb").write_text("{}")
    (source / "carol" / "two.ipynb").write_text("{}")
    (source / "carol" / ".ipynb_checkpoints").mkdir()
    (source / "carol" / ".ipynb_checkpoints" / "one.ipynb").write_text("{}")
    report = collect(course, "a1", source)
    assert report.collected == {"carol": ["one", "two"]} and not report.unmatched and not report.duplicates
    with pytest.raises(FileNotFoundError, match="release the assignment first"):
        collect(course, "nope", source)


def test_the_grading_limits_have_one_home():
    """Caps and the probe tag are written once, in tlhelpers.grading.limits; the other modules import them."""
    import tlhelpers.grading as package
    from tlhelpers.grading import collect as collect_module, limits, sandbox, scoring

    assert collect_module.MAX_NOTEBOOK_BYTES == scoring.MAX_SUBMISSION_BYTES == limits.MAX_NOTEBOOK_BYTES
    assert sandbox.Limits is limits.Limits and PROBE_TAG == limits.PROBE_TAG
    folder = Path(package.__file__).parent
    for module in folder.glob("*.py"):
        if module.name != "limits.py":
            text = module.read_text()
            assert f'"{limits.PROBE_TAG}"' not in text, f"{module.name} spells the probe tag itself"
            assert "2**20" not in text.replace("// 2**20", "").replace("/ 2**20", ""), f"{module.name} sets a size cap"


SEEDED = '''
from tlhelpers.grading.probes import probe

def _inputs(seed):
    import numpy as np
    return np.random.default_rng(seed).normal(size=5)

def _judge(got, expected, seed):
    return None if got == [float(2 * v) for v in _inputs(seed)] else "not twice the inputs"

@probe("t_tests", judge=_judge, uses=(_inputs,))
def doubled(seed):
    return [f(v) for v in _inputs(seed)]
'''


def _run_cell(source: str, ns: dict) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, "<probe cell>", "exec"), ns)
    return out.getvalue()


def test_a_probe_cell_is_self_contained_and_its_reporter_cannot_be_swapped(tmp_path):
    from tlhelpers.grading.probes import kernel_call

    path = tmp_path / "nb.probes.py"
    path.write_text(SEEDED)
    (doubled,) = load_probes(path)
    assert doubled.seeded and "def _inputs(seed)" in kernel_call(doubled, "abc123", 7)
    # the student's function swaps what a reporter in the globals would use, mid-call: json.dumps and the serializer
    ns = {"f": lambda v: (__import__("json").__setattr__("dumps", lambda *a, **k: '{"ok": true, "value": 1}'),
                          ns.__setitem__("__tl_plain", lambda *a, **k: 1), 2 * v)[-1]}
    import json as real_json

    dumps = real_json.dumps
    try:
        text = _run_cell(kernel_call(doubled, "abc123", 7), ns)
    finally:
        real_json.dumps = dumps
    report = parse_report(text, "abc123", "doubled")
    assert report["ok"] and judge(doubled, report, None, seed=7) is None
    assert judge(doubled, report, None, seed=8) is not None           # judged on the grader's seed, not the kernel's
    assert not [k for k in ns if k.startswith("__tl_cell")], "the probe cell left its function in the globals"
    with pytest.raises(ValueError, match="seed"):
        kernel_call(doubled, "abc123")


def test_probe_files_refuse_seeded_probes_without_judge_and_other_arguments(tmp_path):
    path = tmp_path / "nb.probes.py"
    path.write_text("from tlhelpers.grading.probes import probe\n@probe('t')\ndef p(seed):\n    return seed\n")
    with pytest.raises(TypeError, match="judge"):
        load_probes(path)
    path.write_text("from tlhelpers.grading.probes import probe\n@probe('t')\ndef p(x):\n    return x\n")
    with pytest.raises(TypeError, match="only `seed`"):
        load_probes(path)


@pytest.mark.slow       # builds a toy course with nbgrader
def test_keys_come_once_per_assignment_with_their_sized_limits(tmp_path, monkeypatch):
    """answer_keys fingerprints each notebook once; grade_student uses the keys' limits and fingerprints nothing."""
    from grading_toy import ASSIGNMENT, NOTEBOOK, make_toy_course, submission, submit

    from tlhelpers.grading import runner, scoring
    from tlhelpers.grading.cost import save_cost
    from tlhelpers.grading.sandbox import Limits

    course = make_toy_course(tmp_path)
    layout = CourseLayout(course)
    key_path = scoring.key_file(layout.release(ASSIGNMENT) / NOTEBOOK, layout.source(ASSIGNMENT) / NOTEBOOK,
                                layout.keys(ASSIGNMENT))
    key_path.parent.mkdir(parents=True)
    key_path.write_text(json.dumps({"add_values": [42, 0, 0.75], "squares_values": [9, 4, 1, 0, 1, 4, 9],
                                    "constant_value": 42}))
    save_cost(key_path, 2.0)
    calls = []
    real = scoring.key_fingerprint
    monkeypatch.setattr(scoring, "key_fingerprint", lambda *a, **k: calls.append(a) or real(*a, **k))
    keys = runner.answer_keys(course, ASSIGNMENT, Limits())
    assert len(calls) == 1 and keys[NOTEBOOK].path == key_path
    assert keys[NOTEBOOK].limits.cell_timeout == 60 and keys[NOTEBOOK].limits.wall_seconds == 180   # floors
    graded = []
    monkeypatch.setattr(runner, "_grade_or_zero", lambda release, source, submitted, key, work, limits:
                        graded.append((key, limits)) or runner.NotebookResult(NOTEBOOK, [], [], "ok"))
    monkeypatch.setattr(runner.gradebook, "record", lambda *a, **k: None)
    monkeypatch.setattr(runner, "_write_outputs", lambda *a, **k: None)
    submit(course, "alice", submission(course, base="solution"))
    runner.grade_student(course, ASSIGNMENT, "alice", keys, "sqlite://")
    assert len(calls) == 1, "grade_student fingerprinted the release again"
    assert graded == [(keys[NOTEBOOK].values, keys[NOTEBOOK].limits)]
