"""The course run's report: per notebook its time, status, key metrics and figures, as Markdown and HTML.

Written by :func:`tlhelpers.course.run_course` into ``build/report.md`` and ``build/report.html``; figures are
taken from the executed notebooks' PNG outputs and saved under ``build/report_files/``. The key metrics of a
notebook are those its registry entry sets thresholds on (for the run's profile, else for ``ci``).
"""

from __future__ import annotations

import base64
import html
import json
import platform
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tlhelpers.layout import CourseLayout

if TYPE_CHECKING:  # only for type hints
    from tlhelpers.registry import NotebookSpec, RunResult

__all__ = ["extract_figures", "claim_rows", "write_report"]


def extract_figures(executed: Path, out_dir: Path, prefix: str) -> list[Path]:
    """Save every PNG output of an executed notebook as ``<out_dir>/<prefix>_<k>.png``; return the paths."""
    import nbformat

    if not executed.is_file():
        return []
    nb = nbformat.read(executed, as_version=4)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                path = out_dir / f"{prefix}_{len(paths)}.png"
                path.write_bytes(base64.b64decode(png))
                paths.append(path)
    return paths


def _key_metrics(spec: NotebookSpec, profile: str, metrics_path: str) -> list[tuple[str, Any, str]]:
    path = Path(metrics_path) if metrics_path else None
    if path is None or not path.is_file():
        return []
    recorded = json.loads(path.read_text())["metrics"]
    bounds = spec.thresholds.get(profile) or spec.thresholds.get("ci", {})
    rows = []
    for name, bound in bounds.items():
        limits = " and ".join(f"{k} {v}" for k, v in bound.items())
        rows.append((name, recorded.get(name), limits))
    return rows


def claim_rows(metrics_path: str) -> list[tuple[str, str, str, str]]:
    """Every claim a run recorded (see :mod:`tlhelpers.claims`): name, text, verdict, evidence.

    The verdict is ``held``, ``FAILED``, or ``failed (not enforced in <profile>)`` for the smoke profile.
    """
    from tlhelpers.claims import format_evidence, recorded_claims

    path = Path(metrics_path) if metrics_path else None
    if path is None or not path.is_file():
        return []
    saved = json.loads(path.read_text())
    rows = []
    for name, entry in recorded_claims(saved.get("metrics", {})).items():
        if entry.get("held"):
            verdict = "held"
        else:
            verdict = "FAILED" if entry.get("enforced") else f"failed (not enforced in {saved.get('profile')})"
        rows.append((name, str(entry.get("text", "")), verdict, format_evidence(entry.get("evidence") or {})))
    return rows


def _claims_md(rows: list[tuple[str, str, str, str]]) -> list[str]:
    lines = ["", "| claim | held? | evidence |", "| --- | --- | --- |"]
    return lines + [f"| **{n}**: {t.replace('|', '/')} | {v} | {e.replace('|', '/')} |" for n, t, v, e in rows]


def _claims_html(rows: list[tuple[str, str, str, str]]) -> str:
    cells = "".join(f"<tr class='{'ok' if v == 'held' else 'bad'}'><td><b>{html.escape(n)}</b>: {html.escape(t)}"
                    f"</td><td>{html.escape(v)}</td><td>{html.escape(e)}</td></tr>" for n, t, v, e in rows)
    return f"<table><tr><th>claim</th><th>held?</th><th>evidence</th></tr>{cells}</table>"


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def write_report(results: list[RunResult], specs: list[NotebookSpec], build_dir: Path,
                 workers: int = 1) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` into ``build_dir``; returns both paths."""
    by_name = {s.name: s for s in specs}
    files = CourseLayout(build=build_dir).report_files()
    profile = results[0].profile if results else "?"
    total = sum(r.seconds for r in results)
    header = (f"Profile `{profile}`, {len(results)} notebook(s), {sum(r.status == 'ok' for r in results)} ok; "
              f"{total:.1f} s of notebook time with {workers} worker(s); "
              f"{time.strftime('%Y-%m-%d %H:%M')} on {platform.node()} ({platform.machine()}).")
    md = ["# Course run report", "", header, "",
          "| notebook | seconds | status | detail |", "| --- | ---: | --- | --- |"]
    for r in results:
        detail = r.detail.splitlines()[-1][:160] if r.detail else ""
        md.append(f"| {r.notebook} | {r.seconds:.1f} | {r.status} | {detail} |")
    body = [f"<h1>Course run report</h1><p>{html.escape(header)}</p>",
            "<table><tr><th>notebook</th><th>seconds</th><th>status</th><th>detail</th></tr>"]
    for r in results:
        body.append(f"<tr class='{'ok' if r.status == 'ok' else 'bad'}'><td>{html.escape(r.notebook)}</td>"
                    f"<td>{r.seconds:.1f}</td><td>{html.escape(r.status)}</td>"
                    f"<td><pre>{html.escape(r.detail[-2000:])}</pre></td></tr>")
    body.append("</table>")
    for r in results:
        spec = by_name[r.notebook]
        executed = Path(r.executed_path) if r.executed_path else CourseLayout(build=build_dir).executed(
            spec.assignment, spec.stem)
        figures = extract_figures(executed, files, f"{spec.assignment}__{spec.path.stem}")
        metrics = _key_metrics(spec, r.profile, r.metrics_path)
        md += ["", f"## {r.notebook}", "", f"{r.status}, {r.seconds:.1f} s."]
        body.append(f"<h2>{html.escape(r.notebook)}</h2><p>{html.escape(r.status)}, {r.seconds:.1f} s</p>")
        if metrics:
            md += ["", "| key metric | value | threshold |", "| --- | ---: | --- |"]
            md += [f"| {name} | {_fmt(value)} | {limits} |" for name, value, limits in metrics]
            body.append("<table><tr><th>key metric</th><th>value</th><th>threshold</th></tr>")
            body += [f"<tr><td>{html.escape(n)}</td><td>{html.escape(_fmt(v))}</td><td>{html.escape(lim)}</td></tr>"
                     for n, v, lim in metrics]
            body.append("</table>")
        claims = claim_rows(r.metrics_path)
        if claims:
            md += _claims_md(claims)
            body.append(_claims_html(claims))
        for fig in figures:
            rel = fig.relative_to(build_dir).as_posix()
            md += ["", f"![{fig.stem}]({rel})"]
            body.append(f"<img src='{html.escape(rel)}' alt='{html.escape(fig.stem)}'>")
    md_path, html_path = CourseLayout(build=build_dir).report(".md"), CourseLayout(build=build_dir).report(".html")
    md_path.write_text("\n".join(md) + "\n")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:auto}td,th{border:1px solid #ccc;padding:4px}"
             "table{border-collapse:collapse;margin:8px 0}tr.bad{background:#fdd}img{max-width:100%;margin:6px 0}"
             "pre{white-space:pre-wrap;margin:0;font-size:11px}")
    html_path.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>Course run report</title>"
                         f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n")
    return md_path, html_path
