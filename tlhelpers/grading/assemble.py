"""The notebook that gets executed for grading: the release's cells, the student's answers, the probes.

Only the answer cells (nbgrader ``solution`` cells) are taken from a submission, by grade_id; every other cell comes
from the release. So deleted or edited test cells are restored, hidden tests are never in it (the release has
none), and code a student added outside the answer cells is not run (the README tells students so).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import nbformat

from tlhelpers.grading.limits import MAX_ANSWER_CHARS, PROBE_TAG
from tlhelpers.grading.probes import Probe, kernel_call, kernel_prelude


@dataclass
class Assembly:
    """The executable notebook and what was noticed about the submission while building it."""

    notebook: nbformat.NotebookNode
    notes: list[str] = field(default_factory=list)


def _nbgrader(cell) -> dict:
    meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    meta = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}    # a submission's metadata may be any JSON
    return meta if isinstance(meta, dict) else {}


def test_cells(nb) -> dict[str, float]:
    """grade_id -> points of the autograded test cells of a (release or source) notebook."""
    return {_nbgrader(c)["grade_id"]: float(_nbgrader(c).get("points", 0)) for c in nb.cells
            if _nbgrader(c).get("grade") and not _nbgrader(c).get("solution")}


def answer_sources(submission: dict, wanted: set[str], notes: list[str]) -> dict[str, str]:
    """grade_id -> source of the student's answer cells (the first cell claiming each id; later ones reported)."""
    answers: dict[str, str] = {}
    cells = submission.get("cells", []) if isinstance(submission, dict) else []
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict):
            continue
        meta = _nbgrader(cell)
        grade_id = meta.get("grade_id")
        if not (meta.get("solution") and isinstance(grade_id, str) and grade_id in wanted):
            continue
        if grade_id in answers:
            notes.append(f"two cells claim the answer {grade_id!r}: the first one was graded")
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) and all(isinstance(s, str) for s in source) \
            else source
        if not isinstance(source, str):
            notes.append(f"the answer {grade_id!r} is not text (its source is malformed): an empty answer was run")
            source = ""
        if len(source) > MAX_ANSWER_CHARS:
            notes.append(f"the answer {grade_id!r} is over {MAX_ANSWER_CHARS} characters and was cut there")
            source = source[:MAX_ANSWER_CHARS]
        answers[grade_id] = source
    for grade_id in sorted(wanted - set(answers)):
        notes.append(f"the answer cell {grade_id!r} is missing from the submission: the release's empty one was run")
    return answers


def assemble(release: nbformat.NotebookNode, submission: dict, probes: list[Probe], nonces: dict[str, str],
             seeds: dict[str, int] | None = None) -> Assembly:
    """Release cells + the student's answers + a probe cell after each test cell (and a prelude cell first).

    ``nonces``: probe name -> the nonce of its cell; ``seeds``: probe name -> the seed of a seeded probe.
    """
    notes: list[str] = []
    wanted = {_nbgrader(c)["grade_id"] for c in release.cells if _nbgrader(c).get("solution")}
    answers = answer_sources(submission, wanted, notes)
    by_test: dict[str, list[Probe]] = {}
    for p in probes:
        by_test.setdefault(p.test_grade_id, []).append(p)
    missing = set(test_cells(release)) - set(by_test)
    if missing:
        raise ValueError(f"test cells without a probe: {sorted(missing)}; add probes for them to the probe file")
    unknown = set(by_test) - set(test_cells(release))
    if unknown:
        raise ValueError(f"probes name test cells the notebook does not have: {sorted(unknown)}")

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells.append(_probe_cell(kernel_prelude(), "prelude"))
    for cell in release.cells:
        new = nbformat.from_dict({k: v for k, v in cell.items() if k not in ("outputs", "execution_count")})
        if new.cell_type == "code":
            new.outputs, new.execution_count = [], None
        grade_id = _nbgrader(cell).get("grade_id")
        if _nbgrader(cell).get("solution") and grade_id in answers:
            new.source = answers[grade_id]
        nb.cells.append(new)
        for p in by_test.get(grade_id, []) if _nbgrader(cell).get("grade") else []:
            nb.cells.append(_probe_cell(kernel_call(p, nonces[p.name], (seeds or {}).get(p.name)), p.name))
    return Assembly(nb, notes)


def _probe_cell(source: str, name: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata={PROBE_TAG: {"probe": name}})


def without_probes(nb: nbformat.NotebookNode, secrets: list[str]) -> nbformat.NotebookNode:
    """The executed notebook as the student will see it in feedback: the probe cells removed, and any output that
    quotes grading code (``secrets``: the nonce, probe names) replaced by a note. Untrusted: any shape is tolerated.
    """
    out = nbformat.from_dict(nb)
    out.cells = [c for c in out.get("cells", []) if isinstance(c, dict) and PROBE_TAG not in c.get("metadata", {})]
    for cell in out.cells:
        outputs = cell.get("outputs")
        if not isinstance(outputs, list):
            continue
        for i, output in enumerate(outputs):
            if any(s in str(output) for s in secrets):
                outputs[i] = nbformat.v4.new_output("stream", name="stderr",
                                                    text="[output removed: it quoted the grader's code]\n")
    return out
