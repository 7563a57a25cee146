"""Run the course's notebooks with papermill and report what happened.

``python -m tlhelpers.course run --profile ci`` executes every notebook listed in the course's one registry of
notebooks (``tlhelpers/notebooks.yaml``, read by :mod:`tlhelpers.registry`) into ``build/executed/``, writes
each notebook's metrics to ``build/metrics/<notebook>.json``, checks the thresholds for the profile, prints a
table of notebook, seconds and status, and saves it as ``build/course-<profile>.md`` and ``.json``.

Each notebook runs in its own papermill process so that a crash, a dead kernel or a hang (killed at the
timeout) only fails that notebook; the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterable

import yaml

from tlhelpers.layout import REPO_ROOT, CourseLayout
from tlhelpers.registry import REGISTRY, NotebookSpec, RunResult, check_thresholds, load_registry
from tlhelpers.settings import PROFILE_ENV, PROFILES

# NotebookSpec, RunResult, load_registry and check_thresholds are tlhelpers.registry's: import them from there.
__all__ = ["undeclared_parameters", "failed_claims_detail", "run_notebook", "run_course", "format_table", "main"]


def undeclared_parameters(notebook: str | os.PathLike[str], parameters: Iterable[str]) -> list[str]:
    """Parameters that would be injected but are not declared in the notebook's ``parameters`` cell.

    papermill silently accepts such parameters (they would change nothing), so the course refuses them. Also
    raises ``ValueError`` when the notebook has no ``parameters`` cell or more than one.
    """
    # What papermill.inspect_notebook does, on the one copy of the notebook read here (it would read it again).
    from papermill.inspection import _infer_parameters
    from papermill.iorw import load_notebook_node

    nb = load_notebook_node(str(notebook))  # nbformat's reader, plus the empty tags papermill's inspection expects
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise ValueError(f"{notebook} must have exactly one cell tagged 'parameters', found {len(tagged)}")
    declared = {p.name for p in _infer_parameters(nb)}
    return sorted(set(parameters) - declared)


def _last_lines(text: str, n: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-n:])


def run_notebook(spec: NotebookSpec, profile: str, build_dir: Path, root: Path = REPO_ROOT,
                 extra_env: dict[str, str] | None = None, parameters: dict[str, Any] | None = None) -> RunResult:
    """Execute one notebook with papermill in a subprocess and check its thresholds for ``profile``.

    ``parameters`` are injected on top of the registry's (e.g. ``{"seed": 1}``); like those, each must be
    declared in the notebook's ``parameters`` cell.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}: use one of {', '.join(PROFILES)}")
    source = root / spec.path
    executed = CourseLayout(root, build_dir).executed(spec.assignment, spec.path.stem)
    metrics = CourseLayout(root, build_dir).metrics(spec.assignment, spec.path.stem)
    executed.parent.mkdir(parents=True, exist_ok=True)
    metrics.parent.mkdir(parents=True, exist_ok=True)
    if metrics.exists():
        metrics.unlink()  # never report an earlier run's metrics as this run's
    parameters = {"profile": profile, "metrics_path": str(metrics.resolve()),
                  **spec.parameters.get(profile, {}), **(parameters or {})}
    unknown = undeclared_parameters(source, parameters)
    if unknown:
        return RunResult(spec.name, profile, 0.0, "parameters",
                         f"parameters {unknown} are not declared in the notebook's parameters cell")
    command = [sys.executable, "-m", "papermill", str(source), str(executed), "--kernel", "python3",
               "--cwd", str(source.parent), "--no-progress-bar", "--log-level", "WARNING",
               "--execution-timeout", str(spec.timeouts[profile])]
    for key, value in parameters.items():
        command += ["-y", yaml.safe_dump({key: value})]
    env = dict(os.environ, **(extra_env or {}))
    env.pop(PROFILE_ENV, None)  # the injected parameter decides the profile here
    env.setdefault("TQDM_DISABLE", "1")  # progress bars are for people, not for logs
    start = time.perf_counter()
    try:
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=spec.timeouts[profile] + 60)
    except subprocess.TimeoutExpired:
        return RunResult(spec.name, profile, time.perf_counter() - start, "timeout",
                         f"killed after {spec.timeouts[profile] + 60} s", metrics_path=str(metrics),
                         executed_path=str(executed))
    seconds = time.perf_counter() - start
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        status = "dead kernel" if ("DeadKernelError" in output or "Kernel died" in output) else "error"
        failed = failed_claims_detail(metrics)
        if status == "error" and failed:
            return RunResult(spec.name, profile, seconds, "claim failed", failed, output, str(metrics), str(executed))
        return RunResult(spec.name, profile, seconds, status, _last_lines(output), output, str(metrics), str(executed))
    recorded = json.loads(metrics.read_text())["metrics"] if metrics.exists() else {}
    failures = check_thresholds(recorded, spec.thresholds.get(profile, {}))
    if failures:
        return RunResult(spec.name, profile, seconds, "thresholds", "; ".join(failures), output, str(metrics),
                         str(executed))
    return RunResult(spec.name, profile, seconds, "ok", "", output, str(metrics), str(executed))


def failed_claims_detail(metrics_path: Path) -> str:
    """One line per enforced claim recorded as not holding in a run's metrics file; empty when there is none."""
    from tlhelpers.claims import failed_claims

    if not metrics_path.is_file():
        return ""
    failed = failed_claims(json.loads(metrics_path.read_text())["metrics"])
    return "\n".join(f"claim {name!r} does not hold: {entry.get('text', '')}" for name, entry in failed.items())


def format_table(results: list[RunResult]) -> str:
    """A Markdown table of notebook, seconds and status."""
    lines = ["| notebook | profile | seconds | status | detail |", "| --- | --- | ---: | --- | --- |"]
    for r in results:
        detail = r.detail.splitlines()[-1][:120] if r.detail else ""
        lines.append(f"| {r.notebook} | {r.profile} | {r.seconds:.1f} | {r.status} | {detail} |")
    total = sum(r.seconds for r in results)
    lines.append(f"| **total** | | {total:.1f} | {sum(r.status == 'ok' for r in results)}/{len(results)} ok | |")
    return "\n".join(lines)


def run_course(profile: str = "ci", only: Iterable[str] | None = None, workers: int | None = None,
               build_dir: str | os.PathLike[str] | None = None,
               registry: str | os.PathLike[str] = REGISTRY, root: Path = REPO_ROOT,
               extra_env: dict[str, str] | None = None) -> list[RunResult]:
    """Run the registered notebooks (optionally only those whose name contains one of ``only``).

    ``workers`` notebooks run at once (default: one per CPU core); ``extra_env`` is added to each one's
    environment. Writes ``course-<profile>.md``/``.json`` and the report (``report.md``, ``report.html``) into
    ``build_dir``.
    """
    from tlhelpers.report import write_report

    specs = load_registry(registry, root)
    if only:
        specs = [s for s in specs if any(o in s.name for o in only)]
        if not specs:
            raise ValueError(f"no notebook matches {list(only)}")
    out = CourseLayout(root, build_dir).build
    out.mkdir(parents=True, exist_ok=True)
    workers = workers or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(lambda s: run_notebook(s, profile, out, root, extra_env), specs))
    table = format_table(results)
    CourseLayout(root, out).course_table(profile).write_text(table + "\n")
    CourseLayout(root, out).course_table(profile, ".json").write_text(
        json.dumps([{k: v for k, v in asdict(r).items() if k != "output"} for r in results], indent=2))
    write_report(results, specs, out, workers=workers)
    return results


VOLATILE_CELL_METADATA = ("execution", "papermill", "collapsed", "scrolled")


def execute_reference(notebook: str | os.PathLike[str], timeout: int = 600) -> None:
    """Execute a solution notebook in place in the ``ci`` profile, as its committed reference outputs.

    Runs with the parameter defaults (nothing injected, ``TLHELPERS_PROFILE`` and ``TLHELPERS_METRICS`` unset)
    from the notebook's folder, and strips volatile metadata (timings, papermill's) so that re-executing an
    unchanged notebook gives an unchanged file apart from its outputs.
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(notebook)
    nb = nbformat.read(path, as_version=4)
    saved = {k: os.environ.pop(k) for k in (PROFILE_ENV, "TLHELPERS_METRICS", "MPLBACKEND") if k in os.environ}
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        os.environ.update(saved)
    for cell in nb.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
    nb.metadata.pop("papermill", None)
    nbformat.write(nb, path)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m tlhelpers.course run|reference ...``."""
    parser = argparse.ArgumentParser(prog="python -m tlhelpers.course")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute the notebooks with papermill")
    run.add_argument("--profile", default="ci", choices=PROFILES)
    run.add_argument("--only", nargs="*", help="run only notebooks whose name contains one of these")
    run.add_argument("--workers", type=int, default=None, help="notebooks run at the same time (default: cores)")
    run.add_argument("--build-dir", default=str(CourseLayout().build))
    ref = sub.add_parser("reference", help="re-execute solution notebooks in place (ci profile) as reference outputs")
    ref.add_argument("--only", nargs="*", help="only notebooks whose name contains one of these")
    args = parser.parse_args(argv)
    if args.command == "reference":
        specs = [s for s in load_registry() if not args.only or any(o in s.name for o in args.only)]
        for spec in specs:
            start = time.perf_counter()
            execute_reference(REPO_ROOT / spec.path, timeout=spec.timeouts["ci"])
            print(f"{spec.name}: executed in {time.perf_counter() - start:.1f} s")
        return 0
    results = run_course(args.profile, args.only, args.workers, args.build_dir)
    for r in results:
        if r.status != "ok":
            print(f"\n--- {r.notebook}: {r.status}\n{r.detail}\n", file=sys.stderr)
    print(format_table(results))
    print(f"\nSaved {CourseLayout(build=args.build_dir).course_table(args.profile)} and the report "
          f"{CourseLayout(build=args.build_dir).report('.html')}")
    return 0 if all(r.status == "ok" for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
