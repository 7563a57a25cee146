"""Grade answers to one notebook's exercises in-process, fast: the notebook's probes and judges as the grader runs
them, without the sandbox (for the answer tables of tests/test_probe_tables.py).

Each probe cell is the exact code the grader sends to the kernel (``kernel_call``), executed here in a namespace
that holds a small stand-in for the notebook's lecture cells (``setup``) and the answer cells; its printed line is
parsed and judged as in :mod:`tlhelpers.grading.scoring`, against a key computed the same way from the solution
with another seed. Also runs an exercise's visible test, as the student sees it.
"""

from __future__ import annotations

import contextlib
import io
import json
import secrets
from pathlib import Path
from typing import Iterable

from tlhelpers.grading.assemble import test_cells
from tlhelpers.grading.probes import Probe, kernel_call, load_probes, parse_report, probe_file
from tlhelpers.grading.scoring import score

REPO = Path(__file__).resolve().parent.parent


def run_probe(ns: dict, probe: Probe, *, nonce: str | None = None, seed: int | None = None) -> dict | None:
    """Run ``probe`` in ``ns`` as the grader's own probe cell (``kernel_call``) and read its report back as the
    grader does (``parse_report``): ``{"ok": ..., "value" or "error": ..., "seed": ...}``, or None when no answer
    line came back. ``nonce``: a fresh random one by default; ``seed`` (seeded probes): drawn afresh by default,
    recorded in the report (None for a probe without a seed) as the grader passes it to the judge."""
    nonce = nonce or secrets.token_hex(16)
    if probe.seeded and seed is None:
        seed = secrets.randbelow(2**31)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(kernel_call(probe, nonce, seed), f"<probe {probe.name}>", "exec"), ns)
    report = parse_report(out.getvalue(), nonce, probe.name)
    if report is not None:
        report["seed"] = seed
    return report


def run_probes(ns: dict, probes: Iterable[Probe]) -> dict[str, dict | None]:
    """:func:`run_probe` for each of ``probes`` in order, in the same namespace: probe name -> report."""
    return {p.name: run_probe(ns, p) for p in probes}


def _meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


class Exercises:
    """The answer cells, test cells and probes of one source notebook."""

    def __init__(self, notebook: str, setup: str):
        self.path = REPO / "solutions" / notebook
        self.nb = json.loads(self.path.read_text())
        self.setup = setup
        self.probes = load_probes(probe_file(self.path))
        self.answers = {_meta(c)["grade_id"]: "".join(c["source"]) for c in self.nb["cells"] if _meta(c).get("solution")}
        self.tests = {_meta(c)["grade_id"]: "".join(c["source"]) for c in self.nb["cells"]
                      if _meta(c).get("grade") and not _meta(c).get("solution")}
        self.points = test_cells(_Node(self.nb))
        self._key: dict | None = None

    def namespace(self, answers: dict[str, str] | None = None) -> dict:
        """The setup, then every answer cell in order: the solution's, or the given source."""
        ns: dict = {}
        exec(compile(self.setup, "<setup>", "exec"), ns)
        for grade_id, source in self.answers.items():
            exec(compile((answers or {}).get(grade_id, source), f"<answer {grade_id}>", "exec"), ns)
        return ns

    def reports(self, ns: dict) -> dict[str, dict | None]:
        """Every probe run as its kernel cell (own nonce, fresh seed); the reports as the grader parses them."""
        return run_probes(ns, self.probes)

    @property
    def key(self) -> dict:
        if self._key is None:
            reports = self.reports(self.namespace())
            broken = {n: r for n, r in reports.items() if r is None or not r["ok"]}
            assert not broken, f"the probes fail on the solution: {broken}"
            self._key = {n: r["value"] for n, r in reports.items()}
        return self._key

    def grade(self, answers: dict[str, str] | None = None) -> dict[str, float]:
        """Points per test cell for the solution with ``answers`` replacing some answer cells."""
        results = score(_Node(self.nb), self.probes, self.reports(self.namespace(answers)), self.key)
        return {r.grade_id: r.points for r in results}

    def visible(self, test_id: str, answers: dict[str, str] | None = None) -> str | None:
        """None when the visible part of test cell ``test_id`` passes, else its error."""
        ns = self.namespace(answers)
        source = self.tests[test_id].split("### BEGIN HIDDEN TESTS")[0]
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(source, f"<visible {test_id}>", "exec"), ns)
        except Exception as error:  # noqa: BLE001 - any failure is what a student would see
            return f"{type(error).__name__}: {error}"
        return None


class _Node(dict):
    """Just enough of an nbformat node for test_cells and score: attribute access to the cells."""

    @property
    def cells(self):
        return self["cells"]


def check_table(ex: Exercises, answer_id: str, test_id: str, table: list[tuple[str, str, str]]) -> list[str]:
    """Grade every row (label, kind, answer source) of an answer table; return what went against the rules.

    kind ``right``: full points and the visible test passes; ``wrong``: exactly this exercise's points lost and the
    visible test fails; ``forged``: this exercise's points lost (whatever the visible test says).
    """
    problems = []
    solution_seen = ex.visible(test_id)
    if solution_seen is not None:
        problems.append(f"the solution fails its own visible test: {solution_seen}")
    full = dict(ex.points)
    for label, kind, source in table:
        got = ex.grade({answer_id: source})
        want = dict(full, **({test_id: 0.0} if kind in ("wrong", "forged") else {}))
        if got != want:
            problems.append(f"{label} ({kind}): scored {got}, must be {want}")
        seen = ex.visible(test_id, {answer_id: source})
        if kind == "right" and seen is not None:
            problems.append(f"{label} ({kind}): the visible test fails: {seen}")
        if kind == "wrong" and seen is None:
            problems.append(f"{label} ({kind}): the visible test passes it")
    return problems
