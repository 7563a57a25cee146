"""The executed notebook that comes back from the sandbox, turned into plain, bounded, well-formed data.

Everything in that file is the student's to write: the runner inside the sandbox can be replaced, so any JSON shape
may come back (cells that are lists, tracebacks of numbers, outputs grown by display updates past the sandbox's own
caps). :func:`clean_notebook` keeps only cells and outputs of the forms nbformat defines, with text of the right
types, and caps what each cell and the whole notebook may carry, whatever message type produced it. What it drops
it replaces by a note, so the feedback says what was left out. It never raises for any JSON value.
"""

from __future__ import annotations

from typing import Any

import nbformat

from tlhelpers.grading.limits import MAX_CELL_OUTPUT_CHARS as MAX_CELL_CHARS
from tlhelpers.grading.limits import MAX_NOTEBOOK_OUTPUT_CHARS as MAX_NOTEBOOK_CHARS
from tlhelpers.grading.limits import MAX_PROBE_OUTPUT_CHARS as MAX_PROBE_CELL_CHARS
from tlhelpers.grading.limits import PROBE_TAG

TEXT_MIMES = ("text/plain", "image/png", "image/jpeg")   # the only kinds of rich output kept (shown inert)
MAX_CELLS = 2_000


def _text(value: Any) -> str | None:
    """A str, a list of str joined (nbformat's multiline form), else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return None


def _note(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("stream", name="stderr", text=f"[{text}]\n")


def _clean_output(output: Any) -> tuple[nbformat.NotebookNode | None, str | None]:
    """(output, None) when well formed (rich data reduced to the kinds kept), else (None, why it was dropped)."""
    if not isinstance(output, dict):
        return None, "an output that is not an object was dropped"
    kind = output.get("output_type")
    if kind == "stream":
        text = _text(output.get("text"))
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return (nbformat.v4.new_output("stream", name=name, text=text), None) if text is not None \
            else (None, "a malformed printed output was dropped")
    if kind in ("display_data", "execute_result"):
        data = output.get("data") if isinstance(output.get("data"), dict) else {}
        kept = {m: _text(v) for m, v in data.items() if m in TEXT_MIMES and _text(v) is not None}
        dropped = sorted(str(m)[:60] for m in data if m not in kept)
        if dropped:
            kept.setdefault("text/plain", "")
            kept["text/plain"] += f"\n[not shown: {', '.join(dropped)} (feedback shows text and images only)]"
        if not kept:
            return None, "an empty display output was dropped"
        if kind == "execute_result":
            count = output.get("execution_count")
            count = count if isinstance(count, int) and not isinstance(count, bool) and 0 <= count < 10**9 else None
            return nbformat.v4.new_output("execute_result", data=kept, execution_count=count), None
        return nbformat.v4.new_output("display_data", data=kept), None
    if kind == "error":
        traceback = output.get("traceback")
        lines = [t for t in traceback if isinstance(t, str)] if isinstance(traceback, list) else []
        ename, evalue = output.get("ename"), output.get("evalue")
        return nbformat.v4.new_output("error", ename=ename if isinstance(ename, str) else "Error",
                                      evalue=evalue if isinstance(evalue, str) else "", traceback=lines), None
    return None, f"an output of unknown type {str(kind)[:40]!r} was dropped"


def output_chars(output: dict) -> int:
    """The characters an (already clean) output carries, whatever its type."""
    if output["output_type"] == "stream":
        return len(output["text"])
    if output["output_type"] == "error":
        return len(output["ename"]) + len(output["evalue"]) + sum(len(t) for t in output["traceback"])
    return sum(len(v) for v in output["data"].values())


def _clean_metadata(cell: dict) -> dict:
    meta = cell.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    clean: dict = {}
    tag = meta.get(PROBE_TAG)
    if isinstance(tag, dict) and isinstance(tag.get("probe"), str):
        clean[PROBE_TAG] = {"probe": tag["probe"]}
    grader = meta.get("nbgrader")
    if isinstance(grader, dict):
        clean["nbgrader"] = {k: v for k, v in grader.items() if isinstance(k, str) and
                             (isinstance(v, (bool, str)) or (isinstance(v, (int, float)) and abs(v) < 1e9))}
    return clean


def clean_notebook(data: Any) -> tuple[nbformat.NotebookNode, list[str]]:
    """A valid v4 notebook holding only well-formed cells and capped outputs of ``data``, and notes on what went."""
    notes: list[str] = []
    nb = nbformat.v4.new_notebook()
    if isinstance(data, dict) and isinstance(data.get("metadata"), dict):
        status = data["metadata"].get(PROBE_TAG)
        if isinstance(status, dict) and isinstance(status.get("status"), str):
            nb.metadata[PROBE_TAG] = {"status": status["status"][:200]}
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        notes.append("the executed notebook had no list of cells")
        cells = []
    if len(cells) > MAX_CELLS:
        notes.append(f"the executed notebook had {len(cells)} cells: only the first {MAX_CELLS} were read")
        cells = cells[:MAX_CELLS]
    budget = MAX_NOTEBOOK_CHARS
    malformed = 0
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            malformed += 1
            continue
        source = _text(cell.get("source", ""))
        if source is None:
            malformed += 1
            source = "[this cell's source was not text]"
        metadata = _clean_metadata(cell)
        if cell["cell_type"] != "code":
            maker = nbformat.v4.new_markdown_cell if cell["cell_type"] == "markdown" else nbformat.v4.new_raw_cell
            nb.cells.append(maker(source[:MAX_CELL_CHARS], metadata=metadata))
            continue
        new = nbformat.v4.new_code_cell(source[:MAX_CELL_CHARS], metadata=metadata)
        count = cell.get("execution_count")
        new.execution_count = count if isinstance(count, int) and not isinstance(count, bool) \
            and 0 <= count < 10**9 else None
        probe_cell = PROBE_TAG in metadata
        cap = MAX_PROBE_CELL_CHARS if probe_cell else MAX_CELL_CHARS
        used = 0
        outputs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
        for output in outputs:
            clean, why = _clean_output(output)
            if clean is None:
                new.outputs.append(_note(why))
                continue
            size = output_chars(clean)
            if used + size > cap or (not probe_cell and size > budget):
                new.outputs.append(_note(f"output cut: over {min(cap, budget) if not probe_cell else cap} "
                                         "characters"))
                break
            used += size
            if not probe_cell:
                budget -= size
            new.outputs.append(clean)
        nb.cells.append(new)
    if malformed:
        notes.append(f"{malformed} malformed cells in the executed notebook were not read")
    return nb, notes
