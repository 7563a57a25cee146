"""An executed notebook as inert HTML: every text escaped, images only as checked base64 data, nothing else.

Student outputs must not run when an instructor or a student opens the feedback: nbconvert's templates pass
``text/html``, JavaScript, SVG and Markdown outputs through as they are, so a submission could run a script, send
the page elsewhere (``<meta refresh>``) or restyle the grader's summary. Here nothing the student wrote is ever
markup: sources, outputs and tracebacks are escaped text in ``<pre>``, PNG/JPEG images go into ``<img>`` as base64
data whose alphabet is checked, and every other kind of output was already replaced by a note naming it
(:mod:`tlhelpers.grading.safe_notebook`). The page forbids scripts, frames and remote loads in its Content Security
Policy as a second line.
"""

from __future__ import annotations

import html
import re

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
STYLE = """body{font-family:sans-serif;max-width:70em;margin:1em auto}
.tl-cell{margin:.6em 0;border-left:3px solid #ccc;padding-left:.6em}
pre{white-space:pre-wrap;word-break:break-word;margin:.2em 0;font-size:90%}
pre.tl-in{background:#f5f5f5;padding:.3em}pre.tl-err{color:#a00}pre.tl-md{color:#333}"""


def _pre(text: str, kind: str) -> str:
    return f"<pre class='tl-{kind}'>{html.escape(ANSI.sub('', text))}</pre>"


def render_output(output: dict) -> str:
    """One clean output (see safe_notebook.clean_notebook) as inert HTML."""
    kind = output["output_type"]
    if kind == "stream":
        return _pre(output["text"], "err" if output["name"] == "stderr" else "out")
    if kind == "error":
        return _pre(f"{output['ename']}: {output['evalue']}\n" + "\n".join(output["traceback"]), "err")
    parts = []
    for mime in ("image/png", "image/jpeg"):
        data = output["data"].get(mime)
        if data is not None and BASE64.match(data):
            parts.append(f"<img alt='figure' src='data:{mime};base64,{''.join(data.split())}'>")
        elif data is not None:
            parts.append(_pre("[an image that is not valid base64 was not shown]", "err"))
    if "text/plain" in output["data"] and (not parts or "[not shown" in output["data"]["text/plain"]):
        parts.append(_pre(output["data"]["text/plain"], "out"))
    return "".join(parts)


def render_notebook(nb) -> str:
    """The cells of a clean notebook, in order, as inert HTML (an HTML fragment)."""
    parts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            parts.append(f"<div class='tl-cell'>{_pre(cell.source, 'md')}</div>")
            continue
        count = cell.get("execution_count")
        prompt = f"In [{count if count is not None else ' '}]:\n"
        outputs = "".join(render_output(o) for o in cell.outputs)
        parts.append(f"<div class='tl-cell'>{_pre(prompt + cell.source, 'in')}{outputs}</div>")
    return "\n".join(parts)


def page(summary: str, bodies: list[str]) -> str:
    """The whole feedback page: the grader's summary (its own HTML) first, then the inert notebook fragments."""
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
            f"<title>feedback</title><style>{STYLE}</style></head><body>"
            + summary + "\n<hr>\n" + "\n".join(bodies) + "</body></html>")
