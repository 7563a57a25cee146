"""Score one submitted notebook: assemble, run in the sandbox, read the probes' answers, judge them here.

The expected answers (the *key*) come from running the same probes on the solution notebook, in the same sandbox,
and are cached by the SHA-256 of everything they depend on.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from tlhelpers.cache import atomic_write
from tlhelpers.grading import sandbox
from tlhelpers.grading.assemble import assemble, test_cells, without_probes
from tlhelpers.grading.limits import MAX_EXECUTED_BYTES, PROBE_TAG
from tlhelpers.grading.limits import MAX_NOTEBOOK_BYTES as MAX_SUBMISSION_BYTES
from tlhelpers.grading.cost import load_cost, save_cost, sized_limits
from tlhelpers.grading.probes import Probe, judge, load_probes, parse_report, probe_file


@dataclass
class TestResult:
    """One autograded test cell: points earned of its maximum, and why points were lost."""

    grade_id: str
    points: float
    max_points: float
    reasons: list[str] = field(default_factory=list)


@dataclass
class NotebookResult:
    """The grade of one notebook, the notes about the submission, and the executed notebook (probes removed)."""

    notebook: str
    tests: list[TestResult]
    notes: list[str]
    status: str
    executed: nbformat.NotebookNode | None = None

    @property
    def score(self) -> float:
        return sum(t.points for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.max_points for t in self.tests)


def read_submission(path: Path) -> tuple[dict | None, str | None]:
    """The submission as JSON data (never executed here), or None and the reason it cannot be read."""
    if path.is_symlink():
        return None, "the submitted file is a link, not a notebook: submit the .ipynb file itself"
    try:
        size = path.stat().st_size
    except OSError as error:
        return None, f"the notebook cannot be read ({error.strerror})"
    if size > MAX_SUBMISSION_BYTES:
        return None, f"the notebook is {size / 2**20:.0f} MB, over the {MAX_SUBMISSION_BYTES // 2**20} MB limit"
    from tlhelpers.grading.safe_files import UnsafeFile, read_regular

    try:
        raw = read_regular(path, "", MAX_SUBMISSION_BYTES)
    except UnsafeFile as error:
        return None, f"the notebook cannot be read: {error}"
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None, "the file is not a notebook (not valid JSON): open it in JupyterLab, save it, and submit again"
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return None, "the file is not a Jupyter notebook (it has no cells)"
    return data, None


def _probe_outputs(executed: nbformat.NotebookNode) -> dict[str, str]:
    texts: dict[str, str] = {}
    for cell in executed.get("cells", []):
        tag = cell.get("metadata", {}).get(PROBE_TAG)
        if not isinstance(tag, dict) or not isinstance(tag.get("probe"), str):
            continue
        text = "".join(o.get("text", "") for o in cell.get("outputs", [])
                       if o.get("output_type") == "stream" and isinstance(o.get("text"), str))
        texts[tag["probe"]] = texts.get(tag["probe"], "") + text
    return texts


def read_executed(workdir: Path, relative: Path) -> tuple[nbformat.NotebookNode | None, Any]:
    """The notebook a sandboxed run wrote, cleaned (see safe_notebook), and notes; or None and why not.

    Read without following links or opening special files (the run may have replaced any part of the path), parsed
    as JSON only, and reduced to well-formed, capped cells: no shape of that file can crash the grader.
    """
    from tlhelpers.grading.safe_files import UnsafeFile, read_regular
    from tlhelpers.grading.safe_notebook import clean_notebook

    try:
        data = json.loads(read_regular(workdir, relative, MAX_EXECUTED_BYTES).decode("utf-8", errors="replace"))
    except UnsafeFile as error:
        return None, str(error)
    except (ValueError, RecursionError):
        return None, "not valid JSON"
    try:
        return clean_notebook(data)
    except Exception as error:  # noqa: BLE001 - clean_notebook should never raise; if it does, the run scores 0
        return None, f"unreadable ({type(error).__name__})"


def run_probes(release: nbformat.NotebookNode, submission: dict, probes: list[Probe], workdir: Path,
               limits: sandbox.Limits) -> tuple[dict[str, dict | None], list[str], str, nbformat.NotebookNode | None]:
    """Execute the assembled notebook in the sandbox; return each probe's report (or None), notes, status, notebook.

    Every probe cell gets a nonce of its own, and every seeded probe a seed drawn here for this run. A report's
    ``seed`` is set here from that draw (whatever the kernel printed), for the judge.
    """
    nonces = {p.name: secrets.token_hex(16) for p in probes}
    seeds = {p.name: secrets.randbelow(2**31) for p in probes if p.seeded}
    assembly = assemble(release, submission, probes, nonces, seeds)
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    nbformat.write(assembly.notebook, workdir / "in.ipynb")
    sandbox.prepare_workdir(workdir)
    try:
        ran = sandbox.execute_notebook(workdir, limits)
        result_path = workdir / "out" / "executed.ipynb"
        executed, status = None, "no result"
        if ran.timed_out:
            status = f"stopped after {limits.wall_seconds} s (the time limit)"
        executed, problem = read_executed(workdir, result_path.relative_to(workdir))
        if executed is None:
            status = status if ran.timed_out else f"the run left no readable notebook ({problem})"
        else:
            assembly.notes.extend(problem)
            if not ran.timed_out:
                status = executed.metadata.get(PROBE_TAG, {}).get("status", "no status")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    texts = _probe_outputs(executed) if executed is not None else {}
    reports = {p.name: parse_report(texts.get(p.name, ""), nonces[p.name], p.name) for p in probes}
    for name, report in reports.items():
        if report is not None:
            report["seed"] = seeds.get(name)        # the grader's own draw, never the kernel's word
    shown = without_probes(executed, [*nonces.values(), "__tl_cell", "__tl_plain"] +
                           [f"def {p.name}(" for p in probes]) if executed is not None else None
    return reports, assembly.notes, status, shown


def score(release: nbformat.NotebookNode, probes: list[Probe], reports: dict[str, dict | None],
          expected: dict[str, Any]) -> list[TestResult]:
    """Points per test cell: all of a cell's points when every probe of it passes, else none."""
    results = []
    for grade_id, points in test_cells(release).items():
        reasons = [r for p in probes if p.test_grade_id == grade_id
                   for r in [judge(p, reports.get(p.name), expected[p.name],
                                   seed=(reports.get(p.name) or {}).get("seed"))] if r]
        results.append(TestResult(grade_id, 0.0 if reasons else points, points, reasons))
    return results


def key_fingerprint(release_path: Path, source_path: Path, profile: str = "smoke") -> str:
    import tlhelpers

    digest = hashlib.sha256()
    library = sorted(Path(tlhelpers.__file__).parent.rglob("*.py"))    # what the notebooks and probes call
    for path in (release_path, source_path, probe_file(source_path), *library):
        digest.update(path.read_bytes())
    digest.update(f"{profile}|{tlhelpers.__version__}".encode())
    return digest.hexdigest()[:20]


@dataclass(frozen=True)
class AnswerKey:
    """A notebook's answer key, computed (or read from the cache) once per assignment and handed to every student's
    grading: the probes' answers on the solution, where the key is cached, and the limits sized from its cost."""

    values: dict[str, Any]
    path: Path
    limits: sandbox.Limits


def answer_key(release_path: Path, source_path: Path, keys_dir: Path, workdir: Path,
               limits: sandbox.Limits = sandbox.Limits()) -> AnswerKey:
    """The probes' answers on the solution notebook (computed in the sandbox once, then read from ``keys_dir``),
    with the limits each submission of this notebook gets (a multiple of the solution's run time)."""
    cached = key_file(release_path, source_path, keys_dir)
    if not cached.is_file():
        _compute_key(release_path, source_path, cached, workdir, limits)
    return AnswerKey(json.loads(cached.read_text()), cached, sized_limits(limits, load_cost(cached)))


def _compute_key(release_path: Path, source_path: Path, cached: Path, workdir: Path, limits: sandbox.Limits) -> None:
    probes = load_probes(probe_file(source_path))
    release = nbformat.read(release_path, as_version=4)
    solution = json.loads(source_path.read_text())
    started = time.perf_counter()
    reports, _, status, _ = run_probes(release, solution, probes, workdir, limits)
    seconds = time.perf_counter() - started
    broken = {name: (r or {}).get("error", "no answer came back") for name, r in reports.items()
              if r is None or not r["ok"]}
    if broken:
        raise RuntimeError(f"probes fail on the solution {source_path} (run status: {status}): {broken}. "
                           "Fix the probe file or the solution before grading.")
    key = {name: r["value"] for name, r in reports.items()}
    # the solution must pass its own judges (a seeded probe's judge computes what to expect from the seed alone)
    failed = [message for p in probes for message in [judge(p, reports[p.name], key[p.name], reveal=True,
                                                            seed=reports[p.name].get("seed"))] if message]
    if failed:
        raise RuntimeError(f"the solution {source_path} fails its own probes: {failed}. Fix the probe file.")
    cached.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(cached, "w") as handle:
        json.dump(key, handle)
    save_cost(cached, seconds)      # the students' time limits are sized from it (tlhelpers.grading.cost)


def key_file(release_path: Path, source_path: Path, keys_dir: Path) -> Path:
    """The cached key of a notebook: named by the fingerprint of everything it depends on."""
    return keys_dir / f"{source_path.stem}-{key_fingerprint(release_path, source_path)}.json"


def grade_notebook(release_path: Path, source_path: Path, submission_path: Path, key: dict[str, Any],
                   workdir: Path, limits: sandbox.Limits = sandbox.Limits()) -> NotebookResult:
    """Grade one submitted notebook against its release, probes and key."""
    release = nbformat.read(release_path, as_version=4)
    probes = load_probes(probe_file(source_path))
    submission, problem = read_submission(submission_path)
    if submission is None:
        tests = [TestResult(g, 0.0, p, [problem]) for g, p in test_cells(release).items()]
        return NotebookResult(release_path.name, tests, [problem], "not run")
    reports, notes, status, executed = run_probes(release, submission, probes, workdir, limits)
    if status != "ok":
        notes.append(f"the run ended early: {status}")
    return NotebookResult(release_path.name, score(release, probes, reports, key), notes, status, executed)
