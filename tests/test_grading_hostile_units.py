"""Unit tests of the grader against hostile or malformed input that need no sandbox (issue 17, findings 2-4):
one bad submission never stops the class, nothing from the sandbox is opened through a link or as a special file,
feedback is inert and capped and does not quote the key, and a student's id never comes from their own upload."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import nbformat
import pytest

from tlhelpers.grading.assemble import assemble, without_probes
from tlhelpers.grading.collect import collect, match, normalise_id
from tlhelpers.grading.feedback import write_feedback
from tlhelpers.grading.probes import Probe, compare, judge, load_probes
from tlhelpers.grading.safe_files import UnsafeFile, read_regular
from tlhelpers.grading.safe_notebook import MAX_NOTEBOOK_CHARS, clean_notebook
from tlhelpers.grading.scoring import NotebookResult, read_executed, read_submission
from tlhelpers.grading.scoring import TestResult as CellResult

from test_grading_units import PROBE_FILE, _course, _release


# --- finding 3: one bad submission is that submission's result -------------------------------------------------

def test_judge_scores_an_answer_too_large_to_compare_as_wrong():
    p = Probe("p", "t_tests", "def p(): pass", what="the sum")
    reason = judge(p, {"ok": True, "value": [42, 10**400]}, [42, 0.75])
    assert reason == "the sum: the answer could not be compared with the expected one (OverflowError)"
    assert judge(p, {"ok": True, "value": 10**400}, 42) == reason


def test_assemble_survives_a_source_of_ints_and_metadata_that_is_a_list(tmp_path):
    path = tmp_path / "nb.probes.py"
    path.write_text(PROBE_FILE)
    submission = json.loads(nbformat.writes(_release()))
    submission["cells"][0]["metadata"] = ["not", "a", "dict"]
    submission["cells"][1]["source"] = [1, 2, 3]
    submission["cells"].append({"cell_type": "code", "metadata": {"nbgrader": ["x"]}, "source": "1", "outputs": []})
    probes = load_probes(path)
    built = assemble(_release(), submission, probes, {p.name: "NONCE" for p in probes})
    assert built.notebook.cells[2].source == ""          # the answer of ints ran as an empty answer
    assert built.notes == ["the answer 'a' is not text (its source is malformed): an empty answer was run"]


MALFORMED = {"metadata": {"tlgrader": {"status": "ok"}}, "nbformat": 4, "cells": [
    5, "cell", [],
    {"cell_type": "code", "source": [1, 2], "metadata": [], "execution_count": "x",
     "outputs": [{"output_type": "error", "ename": 1, "evalue": None, "traceback": [1, {"a": 2}, "real line"]},
                 {"output_type": "stream", "name": "evil", "text": ["a", 3]},
                 {"output_type": "display_data", "data": {"text/plain": 7, "image/png": ["iVBOR", "w0KGgo="]}},
                 {"output_type": "nonsense"}, 17]},
    {"cell_type": "markdown", "source": "fine", "metadata": {"tlgrader": "not a dict"}},
]}


def test_a_malformed_executed_notebook_becomes_a_clean_one(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "executed.ipynb").write_text(json.dumps(MALFORMED))
    nb, notes = read_executed(tmp_path, Path("out/executed.ipynb"))
    nbformat.validate(nb)
    assert notes == ["4 malformed cells in the executed notebook were not read"]     # 3 not cells, 1 source of ints
    assert [c.cell_type for c in nb.cells] == ["code", "markdown"]
    assert nb.cells[0].source == "[this cell's source was not text]" and nb.cells[0].execution_count is None
    outputs = nb.cells[0].outputs
    assert outputs[0].traceback == ["real line"] and outputs[0].ename == "Error"
    assert outputs[1].text.startswith("[a malformed printed output")
    assert outputs[2].data == {"image/png": "iVBORw0KGgo=",     # the text/plain of a number was dropped, and said
                               "text/plain": "\n[not shown: text/plain (feedback shows text and images only)]"}
    assert "unknown type 'nonsense'" in outputs[3].text and "not an object" in outputs[4].text
    shown = without_probes(nb, ["NONCE"])
    page = write_feedback(tmp_path / "feedback.html", "s", "a1", [NotebookResult("nb.ipynb", [], [], "ok", shown)])
    assert "real line" in page.read_text()
    for data in (b"[1, 2]", b"{\"cells\": {}}", b"null"):
        (tmp_path / "out" / "executed.ipynb").write_bytes(data)
        nb, notes = read_executed(tmp_path, Path("out/executed.ipynb"))
        assert nb.cells == [] and notes == ["the executed notebook had no list of cells"]
    (tmp_path / "out" / "executed.ipynb").write_bytes(b"")
    assert read_executed(tmp_path, Path("out/executed.ipynb")) == (None, "not valid JSON")


def _corrupt_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("alice_1_one.ipynb", "{}" * 1000)
        z.writestr("bob_2_one.ipynb", "{\"cells\": []}" * 1000)
        z.writestr("carol_3_one.ipynb", "{}" * 1000)
    data = bytearray(path.read_bytes())
    start = data.index(b"bob_2_one.ipynb") + len("bob_2_one.ipynb")     # bob's compressed bytes follow his name
    data[start + 5:start + 25] = b"\xff" * 20
    path.write_bytes(bytes(data))


def test_one_corrupt_zip_entry_does_not_stop_the_collection(tmp_path):
    course = _course(tmp_path)
    archive = tmp_path / "lms.zip"
    _corrupt_zip(archive)
    report = collect(course, "a1", archive)
    assert report.collected == {"alice": ["one"], "carol": ["one"]}
    assert [u["file"] for u in report.unmatched] == ["bob_2_one.ipynb"]
    assert report.unmatched[0]["reason"].startswith("could not be read (")


# --- finding 4: files from the sandbox, inert and capped feedback, no key values -------------------------------

def test_read_regular_refuses_links_fifos_and_large_files(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    work = tmp_path / "work"
    (work / "out").mkdir(parents=True)
    (work / "out" / "executed.ipynb").write_text("{}")
    assert read_regular(work, "out/executed.ipynb") == b"{}"
    with pytest.raises(UnsafeFile, match="over the limit"):
        read_regular(work, "out/executed.ipynb", max_bytes=1)
    (work / "out" / "executed.ipynb").unlink()
    (work / "out" / "executed.ipynb").symlink_to(secret)
    with pytest.raises(UnsafeFile, match="symbolic link"):
        read_regular(work, "out/executed.ipynb")
    (work / "out" / "executed.ipynb").unlink()
    (work / "out").rmdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "executed.ipynb").write_text("another student's notebook")
    (work / "out").symlink_to(tmp_path / "elsewhere")          # a folder on the way is a link
    with pytest.raises(UnsafeFile, match="not a plain folder"):
        read_regular(work, "out/executed.ipynb")
    os.mkfifo(work / "fifo.ipynb")
    with pytest.raises(UnsafeFile, match="not a regular file"):   # would block a plain open() for ever
        read_regular(work, "fifo.ipynb")
    with pytest.raises(UnsafeFile, match="'..'"):
        read_regular(work, "../secret.txt")
    assert "not a regular file" in read_submission(work / "fifo.ipynb")[1]


HOSTILE_OUTPUTS = [
    {"output_type": "display_data", "data": {"text/html": "<script>alert(1)</script>", "text/plain": "<HTML>"}},
    {"output_type": "display_data", "data": {"application/javascript": "alert(2)"}},
    {"output_type": "display_data", "data": {"text/html": "<img src=x onerror=alert(3)>"}},
    {"output_type": "display_data", "data": {"text/html": "<meta http-equiv='refresh' content='0;url=http://x'>"}},
    {"output_type": "display_data", "data": {"image/svg+xml": "<svg onload=alert(4)></svg>"}},
    {"output_type": "display_data", "data": {"text/markdown": "<script>alert(5)</script>"}},
    {"output_type": "display_data", "data": {"text/html": "<style>#tl-grading-summary{display:none}</style>"
                                                          "<h1>toy: 10 / 10 points</h1>"}},
    {"output_type": "display_data", "data": {"image/png": "\"><script>alert(6)</script>"}},
    {"output_type": "stream", "name": "stdout", "text": "<script>alert(7)</script>"},
    {"output_type": "error", "ename": "<b>E</b>", "evalue": "<img src=x onerror=alert(8)>", "traceback": ["<i>"]},
]


def test_feedback_is_inert_and_the_summary_comes_first(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "source": "<script>alert(9)</script>", "metadata": {}},
                    {"cell_type": "code", "source": "x", "metadata": {}, "outputs": HOSTILE_OUTPUTS}]}
    clean, _ = clean_notebook(nb)
    result = NotebookResult("nb.ipynb", [CellResult("t_tests", 0.0, 2.0, ["answer is 3, not the expected value"])],
                            [], "ok", clean)
    page = write_feedback(tmp_path / "feedback.html", "s", "toy", [result]).read_text()
    tags = _tags(page)
    assert {t for t, _ in tags} <= {"html", "head", "meta", "title", "style", "body", "section", "h1", "h2", "p",
                                    "b", "table", "tr", "th", "td", "hr", "div", "pre", "img"}
    assert not [a for _, attrs in tags for a, _ in attrs if a.startswith("on") or a in ("href", "srcdoc")]
    assert [dict(a) for t, a in tags if t == "meta"] == [{"charset": "utf-8"}, {
        "http-equiv": "Content-Security-Policy", "content": "default-src 'none'; img-src data:; style-src "
        "'unsafe-inline'; base-uri 'none'; form-action 'none'"}]
    assert [t for t, _ in tags].count("style") == 1 and [t for t, _ in tags].count("b") == 1   # the grader's own
    assert [dict(a)["src"] for t, a in tags if t == "img"] == []
    assert page.index("id='tl-grading-summary'") < page.index("alert(")
    assert "toy: 0 / 2 points" in page and "&lt;h1&gt;toy: 10 / 10 points&lt;/h1&gt;" not in page   # html dropped
    assert "[not shown: application/javascript (feedback shows text and images only)]" in page
    assert "[not shown: text/html (feedback shows text and images only)]" in page
    assert "[an image that is not valid base64 was not shown]" in page
    assert "&lt;script&gt;alert(7)&lt;/script&gt;" in page and "&lt;script&gt;alert(9)&lt;/script&gt;" in page


def test_feedback_is_capped_whatever_produced_the_output(tmp_path):
    # a display update replaces an output's data in place, after the sandbox's per-output cap was applied
    big = {"output_type": "display_data", "data": {"text/plain": "y" * 50_000_000}, "metadata": {}}
    many = [{"output_type": "stream", "name": "stdout", "text": "z" * 90_000}] * 40
    data = {"cells": [{"cell_type": "code", "source": "", "metadata": {}, "outputs": [big]}] +
            [{"cell_type": "code", "source": "", "metadata": {}, "outputs": [o]} for o in many]}
    clean, _ = clean_notebook(data)
    assert "output cut" in clean.cells[0].outputs[0].text
    assert sum(len(o.get("text", "")) for c in clean.cells for o in c.outputs) <= MAX_NOTEBOOK_CHARS + 4000
    page = write_feedback(tmp_path / "f.html", "s", "a", [NotebookResult("nb.ipynb", [], [], "ok", clean)])
    assert page.stat().st_size < 2.5e6


def test_feedback_does_not_quote_the_key_unless_the_instructor_asks(monkeypatch):
    p = Probe("p", "t_tests", "def p(): pass", what="add on hidden inputs")
    monkeypatch.delenv("TLHELPERS_FEEDBACK_SHOW_EXPECTED", raising=False)
    assert judge(p, {"ok": True, "value": [42, 1, 0.75]}, [42, 0, 0.75]) == \
        "add on hidden inputs: answer[1] is 1, not the expected value"
    assert judge(p, {"ok": True, "value": [1]}, [9, 9]) == \
        "add on hidden inputs: answer has length 1, not the expected length"
    assert judge(p, {"ok": True, "value": {"a": 1}}, {"b": 1}) == \
        "add on hidden inputs: answer has keys that are not expected: ['a']"
    assert judge(p, {"ok": True, "value": 2.5}, 9.0) == "add on hidden inputs: answer is 2.5, not the expected value"
    assert judge(p, {"ok": True, "value": "x"}, "secret") == \
        "add on hidden inputs: answer is 'x', not the expected value"
    monkeypatch.setenv("TLHELPERS_FEEDBACK_SHOW_EXPECTED", "1")
    assert judge(p, {"ok": True, "value": [42, 1, 0.75]}, [42, 0, 0.75]) == \
        "add on hidden inputs: answer[1] is 1, expected 0"
    assert compare(1, 9, reveal=False) == "answer is 1, not the expected value"


def _tags(page: str) -> list[tuple[str, list]]:
    from html.parser import HTMLParser

    found = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Tags().feed(page)
    return found


# --- finding 2: identity from the layout, never from a name the student chose ----------------------------------

def test_a_file_in_a_student_folder_cannot_claim_another_student():
    notebooks = ["one", "two"]
    assert match("alice/one.ipynb", notebooks) == ("alice", "one", "")
    assert match("alice/one-2.ipynb", notebooks) == ("alice", "one", "")
    assert match("alice/alice_draft_one.ipynb", notebooks) == ("alice", "one", "")
    student, _, reason = match("alice/bob_one.ipynb", notebooks)
    assert student is None and "inside 'alice''s folder, the name claims student 'bob': not collected" in reason
    student, _, reason = match("alice/bob/one.ipynb", notebooks)
    assert student is None and "a sub-folder 'bob' inside 'alice''s folder" in reason
    assert match("bob_17_one.ipynb", notebooks) == ("bob", "one", "")     # a flat LMS export names its students


def test_student_ids_are_normalised_or_refused():
    assert normalise_id("Alice") == "alice" and normalise_id("ＡＬＩＣＥ") == "alice"     # case, full-width forms
    assert normalise_id("аlice") is None                                                # Cyrillic 'а': refused
    assert match("Alice/one.ipynb", ["one"]) == ("alice", "one", "")
    student, _, reason = match("\u0430lice/one.ipynb", ["one"])
    assert student is None and "not a usable student id" in reason


def test_collect_reports_claims_and_merges_case_variants(tmp_path):
    course = _course(tmp_path)
    for folder, archive in ((tmp_path / "subs", None), (None, tmp_path / "lms.zip")):
        names = {"alice/one.ipynb": '{"who": "alice"}', "alice/bob_one.ipynb": '{"who": "alice as bob"}',
                 "alice/bob/two.ipynb": '{"who": "alice as bob"}', "bob/one.ipynb": '{"who": "bob"}',
                 "Carol/one.ipynb": '{"who": "Carol"}', "carol/two.ipynb": '{"who": "carol"}'}
        if folder is not None:
            for name, text in names.items():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_text(text)
            source = folder
        else:
            with zipfile.ZipFile(archive, "w") as z:
                for name, text in names.items():
                    z.writestr(name, text)
            source = archive
        report = collect(course, "a1", source)
        assert report.collected == {"alice": ["one"], "bob": ["one"], "carol": ["one", "two"]}
        assert sorted(u["file"] for u in report.unmatched) == ["alice/bob/two.ipynb", "alice/bob_one.ipynb"]
        submitted = course / "build" / "submitted"
        assert json.loads((submitted / "bob" / "a1" / "one.ipynb").read_text()) == {"who": "bob"}
        assert not (submitted / "Carol").exists()


# --- finding 5: time limits sized from the solution's own cost -------------------------------------------------

def test_time_limits_are_a_multiple_of_the_solutions_run(tmp_path):
    from tlhelpers.grading.cost import load_cost, save_cost, sized_limits
    from tlhelpers.grading.sandbox import Limits

    key = tmp_path / "toy-abc.json"
    assert load_cost(key) is None and sized_limits(Limits(), None) == Limits()     # no cost known: fixed limits
    save_cost(key, 6.2)
    assert load_cost(key) == 6.2
    fast = sized_limits(Limits(), load_cost(key))
    assert (fast.cell_timeout, fast.wall_seconds) == (60, 180)          # floors: 300 s and 900 s before
    slow = sized_limits(Limits(), 45.0)
    assert (slow.cell_timeout, slow.wall_seconds) == (225, 450)
    assert sized_limits(Limits(), 1000.0) == Limits()                   # never above the fixed limits
    assert sized_limits(Limits(cell_timeout=15, wall_seconds=120), 6.2).cell_timeout == 15


def test_a_worker_that_dies_does_not_leave_later_students_ungraded(tmp_path, monkeypatch):
    from tlhelpers.grading import gradebook, runner

    for student in ("ann", "ben", "cat", "dan"):
        (tmp_path / "build" / "submitted" / student / "a1").mkdir(parents=True)
    parent = os.getpid()

    def grade_student(course, assignment, student, keys, url, limits):
        if os.getpid() != parent and student == "ben":
            os._exit(1)                  # a worker process dies (e.g. killed for memory): the pool breaks
        return {"student": student, "score": 1.0, "max_score": 1.0, "problems": [], "pid": os.getpid()}

    monkeypatch.setattr(runner, "grade_student", grade_student)
    monkeypatch.setattr(runner, "answer_keys", lambda *a: {})
    monkeypatch.setattr(gradebook, "is_sqlite", lambda url: False)
    summaries = runner.grade_assignment(tmp_path, "a1", workers=2, progress=False)
    assert [(s["student"], s.get("score")) for s in summaries] == [("ann", 1.0), ("ben", 1.0), ("cat", 1.0),
                                                                    ("dan", 1.0)]
    assert next(s for s in summaries if s["student"] == "ben")["pid"] == parent     # re-graded here
