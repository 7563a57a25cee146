"""HTML feedback for one student and assignment: the score per exercise, in words, then their executed notebook.

The notebook shown is the one that was graded (release cells, the student's answers, visible tests only), so hidden
inputs and solutions never reach a student; each cell's output was capped in the sandbox.
"""

from __future__ import annotations

import html
from pathlib import Path

from tlhelpers.cache import atomic_write
from tlhelpers.grading.scoring import NotebookResult


def summary_html(student: str, assignment: str, results: list[NotebookResult]) -> str:
    """The part of the page that says which exercise passed, which failed and why."""
    total = sum(r.score for r in results)
    possible = sum(r.max_score for r in results)
    parts = [f"<section id='tl-grading-summary' style='font-family:sans-serif;max-width:60em;margin:1em auto'>",
             f"<h1>{html.escape(assignment)}: {total:g} / {possible:g} points</h1>",
             f"<p>Student: <b>{html.escape(student)}</b></p>"]
    for result in results:
        parts.append(f"<h2>{html.escape(result.notebook)}: {result.score:g} / {result.max_score:g}</h2>")
        for note in result.notes:
            parts.append(f"<p class='tl-note'>Note: {html.escape(note)}</p>")
        parts.append("<table border='1' cellpadding='4' style='border-collapse:collapse'>"
                     "<tr><th>check</th><th>points</th><th>result</th></tr>")
        for test in result.tests:
            verdict = "passed" if not test.reasons else "failed: " + "; ".join(test.reasons)
            colour = "#e6f4ea" if not test.reasons else "#fde8e8"
            parts.append(f"<tr style='background:{colour}'><td>{html.escape(test.grade_id)}</td>"
                         f"<td>{test.points:g} / {test.max_points:g}</td><td>{html.escape(verdict)}</td></tr>")
        parts.append("</table>")
    parts.append("</section>")
    return "\n".join(parts)


def write_feedback(path: Path, student: str, assignment: str, results: list[NotebookResult]) -> Path:
    """Write the feedback page: the summary, then each executed notebook rendered by nbconvert."""
    from nbconvert import HTMLExporter

    bodies = []
    head = "<!DOCTYPE html><html><head><meta charset='utf-8'></head>"
    for result in results:
        if result.executed is not None:
            body, _ = HTMLExporter(template_name="classic").from_notebook_node(result.executed)
            start, end = body.find("<body"), body.rfind("</body>")
            bodies.append(body[body.find(">", start) + 1:end] if start >= 0 and end > start else body)
            head = body[:start] if start >= 0 else head    # nbconvert's <head>: its styles render the notebook
        else:
            bodies.append(f"<p>{html.escape(result.notebook)} did not run: {html.escape(result.status)}</p>")
    page = head + "<body>" + summary_html(student, assignment, results) + "\n".join(bodies) + "</body></html>"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w") as handle:
        handle.write(page)
    return path


def exchange_layout(course: Path, assignment: str, into: Path) -> tuple[list[str], dict[str, str]]:
    """Lay out the feedback pages of ``assignment`` the way nbgrader's ``release_feedback`` reads them.

    nbgrader looks for ``<student>/<assignment>/<notebook>.html`` next to the submission's ``timestamp.txt`` and
    ``submission_secret.txt`` (the secret names the released file, so only that student's Assignment List finds
    it). The course's page covers the whole assignment, so each submitted notebook gets a copy of it. Returns the
    students laid out and, for the others, why not (in words for the instructor).
    """
    course = Path(course)
    done, skipped = [], {}
    for page in sorted((course / "build" / "feedback").glob(f"*/{assignment}/feedback.html")):
        student = page.parent.parent.name
        submitted = course / "build" / "submitted" / student / assignment
        secret, stamp = submitted / "submission_secret.txt", submitted / "timestamp.txt"
        if not (secret.is_file() and stamp.is_file()):
            skipped[student] = ("not submitted through the exchange (no submission_secret.txt in "
                                f"{submitted}): share {page} with them another way")
            continue
        out = Path(into) / student / assignment
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("*.html"):
            old.unlink()   # a re-grade replaces the pages
        for notebook in sorted(submitted.glob("*.ipynb")):
            (out / f"{notebook.stem}.html").write_bytes(page.read_bytes())
        for name in (secret, stamp):
            (out / name.name).write_bytes(name.read_bytes())
        done.append(student)
    return done, skipped
