"""HTML feedback for one student and assignment: the score per exercise, in words, then their executed notebook.

The notebook shown is the one that was graded (release cells, the student's answers, visible tests only), so hidden
inputs and solutions never reach a student. The summary is built from the grader's data only and comes first; the
notebook after it is inert escaped text and checked images (:mod:`.inert_html`), capped (:mod:`.safe_notebook`).
"""

from __future__ import annotations

import html
from pathlib import Path

from tlhelpers.cache import atomic_write
from tlhelpers.grading.scoring import NotebookResult
from tlhelpers.layout import CourseLayout

MAX_REASON_CHARS = 300      # a reason may quote the student's own error message: kept short in the summary


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
            reasons = "; ".join(r[:MAX_REASON_CHARS] for r in test.reasons)
            verdict = "passed" if not test.reasons else "failed: " + reasons
            colour = "#e6f4ea" if not test.reasons else "#fde8e8"
            parts.append(f"<tr style='background:{colour}'><td>{html.escape(test.grade_id)}</td>"
                         f"<td>{test.points:g} / {test.max_points:g}</td><td>{html.escape(verdict)}</td></tr>")
        parts.append("</table>")
    parts.append("</section>")
    return "\n".join(parts)


def write_feedback(path: Path, student: str, assignment: str, results: list[NotebookResult]) -> Path:
    """Write the feedback page: the summary (grader data only), then each executed notebook as inert HTML."""
    from tlhelpers.grading.inert_html import page, render_notebook

    bodies = []
    for result in results:
        if result.executed is not None:
            bodies.append(f"<h2>{html.escape(result.notebook)} as it was graded</h2>"
                          + render_notebook(result.executed))
        else:
            bodies.append(f"<p>{html.escape(result.notebook)} did not run: {html.escape(result.status)}</p>")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w") as handle:
        handle.write(page(summary_html(student, assignment, results), bodies))
    return path


def exchange_layout(course: Path, assignment: str, into: Path) -> tuple[list[str], dict[str, str]]:
    """Lay out the feedback pages of ``assignment`` the way nbgrader's ``release_feedback`` reads them.

    nbgrader looks for ``<student>/<assignment>/<notebook>.html`` next to the submission's ``timestamp.txt`` and
    ``submission_secret.txt`` (the secret names the released file, so only that student's Assignment List finds
    it). The course's page covers the whole assignment, so each submitted notebook gets a copy of it. Returns the
    students laid out and, for the others, why not (in words for the instructor).
    """
    layout = CourseLayout(Path(course))
    done, skipped = [], {}
    for page in sorted(layout.feedback().glob(f"*/{assignment}/feedback.html")):
        student = page.parent.parent.name
        submitted = layout.submitted(student, assignment)
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
