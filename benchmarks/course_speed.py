"""How fast the course runs: `import tlhelpers`, each notebook (cold and warm cache), and the whole course.

    .venv/bin/python benchmarks/course_speed.py                 # ci profile, all notebooks
    .venv/bin/python benchmarks/course_speed.py --only 01 02    # some notebooks
    .venv/bin/python benchmarks/course_speed.py --workers 1 2   # whole-course time with 1 and 2 workers

Everything is measured in one run, so the ratios (cold/warm, 1 vs N workers) compare like with like on a noisy
machine. "Cold" points TLHELPERS_CACHE at an empty folder (weights converted, features extracted and models
trained afresh); "warm" re-runs with that folder filled. Results go to build/benchmarks/course_speed.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tlhelpers import course  # noqa: E402


def import_time(repeats: int = 7) -> float:
    """Median seconds for `import tlhelpers` plus its framework-free modules in a fresh interpreter."""
    code = ("import time; t = time.perf_counter(); import tlhelpers, tlhelpers.data, tlhelpers.settings, "
            "tlhelpers.shift, tlhelpers.checks, tlhelpers.plots, tlhelpers.nlp; print(time.perf_counter() - t)")
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                  cwd=ROOT).stdout) for _ in range(repeats)]
    return statistics.median(times)


def run_with_cache(cache: Path, profile: str, only: list[str] | None, workers: int, build: Path) -> list:
    os.environ["TLHELPERS_CACHE"] = str(cache)
    return course.run_course(profile, only, workers=workers, build_dir=build)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--workers", nargs="*", type=int, default=[1, os.cpu_count() or 1])
    args = parser.parse_args()

    lines = [f"# Course speed ({args.profile} profile, {os.cpu_count()} cores)", ""]
    t_import = import_time()
    lines += [f"`import tlhelpers` (+ data, settings, shift, checks, plots, nlp): {t_import:.3f} s (median of 7)", ""]
    print(lines[-2])

    with tempfile.TemporaryDirectory() as tmp:
        cache, build = Path(tmp) / "cache", Path(tmp) / "build"
        cold = run_with_cache(cache, args.profile, args.only, 1, build / "cold")
        warm = run_with_cache(cache, args.profile, args.only, 1, build / "warm")
        lines += ["| notebook | cold cache (s) | warm cache (s) | status |", "| --- | ---: | ---: | --- |"]
        for c, w in zip(cold, warm):
            lines.append(f"| {c.notebook} | {c.seconds:.1f} | {w.seconds:.1f} | {c.status}/{w.status} |")
        lines.append(f"| **sum** | {sum(r.seconds for r in cold):.1f} | {sum(r.seconds for r in warm):.1f} | |")
        lines.append("")
        lines += ["| workers | whole course, warm cache (wall s) |", "| ---: | ---: |"]
        for workers in args.workers:
            start = time.perf_counter()
            run_with_cache(cache, args.profile, args.only, workers, build / f"w{workers}")
            lines.append(f"| {workers} | {time.perf_counter() - start:.1f} |")
    text = "\n".join(lines) + "\n"
    out = ROOT / "build" / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    (out / "course_speed.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
