"""How fast the course runs: `import tlhelpers`, each notebook in the smoke and ci profiles (cold and warm
cache), and the whole course on N workers; optionally against a baseline checkout, before/after in one run.

    .venv/bin/python benchmarks/course_speed.py                        # smoke + ci, cold + warm, whole course
    .venv/bin/python benchmarks/course_speed.py --profiles smoke       # smoke only: a few minutes
    .venv/bin/python benchmarks/course_speed.py --only keras --no-course
    git worktree add ../before <commit>                                # then, before/after in one run:
    .venv/bin/python benchmarks/course_speed.py --baseline ../before

Each notebook runs through the course command's papermill runner (`tlhelpers.course.run_notebook`), one at a
time, so the seconds include starting the kernel and the imports, as in the tests. "cold" is the first run in an
empty cache folder (TLHELPERS_CACHE), notebooks in registry order as in CI: the Keras weights are converted,
the GloVe index built and features extracted there; "warm" re-runs with that folder filled. CPU seconds are
those of the papermill process and its kernel; on a machine shared with others they vary less than wall
seconds. With --baseline every measurement is taken on the baseline checkout and then on this one, each with
its own cache folder and its own `tlhelpers` (PYTHONPATH), so both see the same load: compare the ratios.
Results go to build/benchmarks/course_speed.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tlhelpers import course, registry  # noqa: E402
from tlhelpers.layout import CourseLayout  # noqa: E402

HEAVY = ("torch", "tensorflow", "keras", "matplotlib", "transformers", "gensim", "sklearn")
IMPORT_SETS = {
    "import tlhelpers": "tlhelpers",
    "+ data, settings, shift, checks, plots, cache, nlp": ("tlhelpers, tlhelpers.data, tlhelpers.settings, "
                                                            "tlhelpers.shift, tlhelpers.checks, tlhelpers.plots, "
                                                            "tlhelpers.cache, tlhelpers.nlp"),
}


@dataclass
class Tree:
    """A checkout of the repository to measure: its notebooks, registry and `tlhelpers`."""

    label: str
    root: Path
    cache: Path

    def env(self) -> dict[str, str]:
        return {"PYTHONPATH": str(self.root), "TLHELPERS_CACHE": str(self.cache)}

    def specs(self) -> dict[str, registry.NotebookSpec]:
        return {s.name: s for s in registry.load_registry(self.registry_file(), self.root)}

    def registry_file(self) -> Path:
        """The checkout's notebook registry (in tests/ before it moved into the package)."""
        moved = self.root / "tlhelpers" / "notebooks.yaml"
        return moved if moved.is_file() else self.root / "tests" / "notebooks.yaml"


def children_cpu() -> float:
    """CPU seconds of the finished child processes so far (papermill and, reaped by it, the kernel)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def folder_mb(path: Path) -> float:
    """Size of the files under ``path`` in MB (0 if it does not exist)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6 if path.exists() else 0.0


def import_times(tree: Tree, repeats: int = 7) -> dict[str, float]:
    """Median seconds of each import set in a fresh interpreter; fails if a heavy framework comes along."""
    out = {}
    for label, modules in IMPORT_SETS.items():
        code = (f"import sys, time; t = time.perf_counter(); import {modules}; t = time.perf_counter() - t; "
                f"heavy = [m for m in {HEAVY!r} if m in sys.modules]; print(t if not heavy else heavy)")
        times = []
        for _ in range(repeats):
            proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                  cwd=tree.root, env=dict(os.environ, PYTHONPATH=str(tree.root)))
            if proc.stdout.startswith("["):
                raise RuntimeError(f"{tree.label}: `import {modules}` imports {proc.stdout.strip()}")
            times.append(float(proc.stdout))
        out[label] = statistics.median(times)
    return out


def run_one(tree: Tree, spec: registry.NotebookSpec, profile: str, build: Path) -> dict:
    """One papermill run of one notebook: wall and CPU seconds and status."""
    cpu = children_cpu()
    result = course.run_notebook(spec, profile, build, root=tree.root, extra_env=tree.env())
    return {"wall": result.seconds, "cpu": children_cpu() - cpu, "status": result.status,
            "detail": result.detail.splitlines()[-1][:100] if result.detail else ""}


def whole_course(tree: Tree, specs: list[registry.NotebookSpec], profile: str, workers: int, build: Path) -> dict:
    """Every notebook, `workers` at a time, through the course command's own runner (`make course`)."""
    start = time.perf_counter()
    results = course.run_course(profile, only=[s.name for s in specs], workers=workers, build_dir=build,
                                registry=tree.registry_file(), root=tree.root,
                                extra_env=tree.env())
    return {"wall": time.perf_counter() - start, "ok": sum(r.status == "ok" for r in results),
            "n": len(results)}


def _fmt(row: dict | None, key: str = "wall") -> str:
    if row is None:
        return ""
    flag = "" if row.get("status", "ok") == "ok" else f" ({row['status']})"
    return f"{row[key]:.1f}{flag}"


def _ratio(before: dict | None, after: dict | None, key: str) -> str:
    if not before or not after or not before[key]:
        return ""
    return f"{after[key] / before[key]:.2f}"


def report(trees: list[Tree], results: dict, imports: dict, courses: dict, cache_mb: dict,
           args: argparse.Namespace) -> str:
    """The Markdown report: imports, per-notebook table(s), whole course."""
    labels = [t.label for t in trees]
    lines = [f"# Course speed ({os.cpu_count()} cores, load average at the end "
             f"{os.getloadavg()[0]:.1f})", ""]
    lines += ["## Imports (median of 7, fresh interpreter)", "",
              "| import | " + " | ".join(f"{label} (s)" for label in labels) + " |",
              "| --- |" + " ---: |" * len(labels)]
    for name in IMPORT_SETS:
        lines.append(f"| `{name}` | " + " | ".join(f"{imports[label][name]:.3f}" for label in labels) + " |")
    lines.append("")
    for profile in args.profiles:
        for cache in (["cold", "warm"] if args.cold else ["warm"]):
            key = (profile, cache)
            if key not in results:
                continue
            rows = results[key]
            lines += [f"## {profile} profile, {cache} cache (one notebook at a time)", ""]
            if len(trees) == 2:
                lines += ["| notebook | before wall s | after wall s | after/before | before CPU s | after CPU s "
                          "| after/before |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
            else:
                lines += ["| notebook | wall s | CPU s | status |", "| --- | ---: | ---: | --- |"]
            totals = {label: {"wall": 0.0, "cpu": 0.0} for label in labels}
            for name, per_tree in rows.items():
                for label in labels:
                    if per_tree.get(label):
                        totals[label]["wall"] += per_tree[label]["wall"]
                        totals[label]["cpu"] += per_tree[label]["cpu"]
                if len(trees) == 2:
                    b, a = per_tree.get(labels[0]), per_tree.get(labels[1])
                    lines.append(f"| {name} | {_fmt(b)} | {_fmt(a)} | {_ratio(b, a, 'wall')} | {_fmt(b, 'cpu')} | "
                                 f"{_fmt(a, 'cpu')} | {_ratio(b, a, 'cpu')} |")
                else:
                    r = per_tree[labels[0]]
                    lines.append(f"| {name} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['status']} {r['detail']} |")
            if len(trees) == 2:
                b, a = totals[labels[0]], totals[labels[1]]
                lines.append(f"| **sum** | {b['wall']:.1f} | {a['wall']:.1f} | {_ratio(b, a, 'wall')} | "
                             f"{b['cpu']:.1f} | {a['cpu']:.1f} | {_ratio(b, a, 'cpu')} |")
            else:
                t = totals[labels[0]]
                lines.append(f"| **sum** | {t['wall']:.1f} | {t['cpu']:.1f} | |")
            if cache == "cold":
                lines.append("Cache written by the cold runs: " + ", ".join(
                    f"{label} {cache_mb[(label, profile)]:.0f} MB" for label in labels) + ".")
            lines.append("")
    if courses:
        state = "warm" if args.course_profile in args.profiles else "cold"
        lines += [f"## Whole course, {args.course_profile} profile, {state} cache (as `make course`)", "",
                  "| workers | " + " | ".join(f"{label} wall s" for label in labels) + " |",
                  "| ---: |" + " ---: |" * len(labels)]
        for workers in args.workers:
            cells = [courses.get((label, workers)) for label in labels]
            lines.append(f"| {workers} | " + " | ".join(
                f"{c['wall']:.1f} ({c['ok']}/{c['n']} ok)" if c else "" for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", nargs="+", default=["smoke", "ci"], choices=["smoke", "ci", "full"])
    parser.add_argument("--only", nargs="*", help="notebooks whose name contains one of these")
    parser.add_argument("--no-cold", dest="cold", action="store_false", help="skip the cold-cache runs")
    parser.add_argument("--cold-only", nargs="*", default=[], metavar="PROFILE",
                        help="profiles measured with a cold cache only (a long ci profile: half the time)")
    parser.add_argument("--workers", nargs="*", type=int, default=[os.cpu_count() or 1],
                        help="whole-course runs with these numbers of workers (default: one per core)")
    parser.add_argument("--no-course", dest="course", action="store_false", help="skip the whole-course runs")
    parser.add_argument("--course-profile", default="ci", choices=["smoke", "ci", "full"])
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with (measured first)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="course-speed-") as tmp:
        tmp_path = Path(tmp)
        trees = [Tree("after" if args.baseline else "this", ROOT, tmp_path / "cache-this")]
        if args.baseline:
            trees.insert(0, Tree("before", args.baseline.resolve(), tmp_path / "cache-before"))
        specs = {t.label: t.specs() for t in trees}
        # With a baseline, only the notebooks both checkouts have, so that sums and whole-course times compare.
        names = [n for n in specs[trees[-1].label] if (not args.only or any(o in n for o in args.only))
                 and all(n in specs[t.label] for t in trees)]

        imports = {t.label: import_times(t) for t in trees}
        for t in trees:
            print(f"{t.label}: " + ", ".join(f"{k}: {v:.3f} s" for k, v in imports[t.label].items()), flush=True)

        results: dict[tuple[str, str], dict[str, dict]] = {}
        cache_mb: dict[tuple[str, str], float] = {}
        for profile in args.profiles:
            # A fresh cache per profile: "cold" is then the first run of that profile on a fresh machine.
            for t in trees:
                t.cache = tmp_path / f"cache-{t.label}-{profile}"
            caches = ["cold"] if profile in args.cold_only else (["cold", "warm"] if args.cold else ["warm"])
            for cache in caches:
                if cache == "warm" and not args.cold:  # fill the caches first, unmeasured
                    for name in names:
                        for t in trees:
                            if name in specs[t.label]:
                                course.run_notebook(specs[t.label][name], profile, tmp_path / "fill",
                                                    root=t.root, extra_env=t.env())
                table = results.setdefault((profile, cache), {})
                for name in names:
                    for t in trees:
                        if name in specs[t.label]:
                            row = run_one(t, specs[t.label][name], profile, tmp_path / f"build-{t.label}")
                            table.setdefault(name, {})[t.label] = row
                            print(f"{profile:5s} {cache} {t.label:6s} {name:45s} wall {row['wall']:6.1f} s  "
                                  f"cpu {row['cpu']:6.1f} s  {row['status']}", flush=True)
                for t in trees:
                    cache_mb.setdefault((t.label, profile), folder_mb(t.cache))

        courses: dict[tuple[str, int], dict] = {}
        if args.course:
            for workers in args.workers:
                for t in trees:
                    t.cache = tmp_path / f"cache-{t.label}-{args.course_profile}"  # warm from the runs above
                    chosen = [specs[t.label][n] for n in names if n in specs[t.label]]
                    courses[(t.label, workers)] = whole_course(t, chosen, args.course_profile, workers,
                                                               tmp_path / f"course-{t.label}-{workers}")
                    print(f"course {t.label} {workers} workers: {courses[(t.label, workers)]}", flush=True)

    text = report(trees, results, imports, courses, cache_mb, args)
    out = CourseLayout(ROOT).benchmarks()
    out.mkdir(parents=True, exist_ok=True)
    (out / "course_speed.md").write_text(text + "\n")
    (out / "course_speed.json").write_text(json.dumps(
        {"imports": imports, "runs": {f"{p}/{c}": v for (p, c), v in results.items()},
         "course": {f"{label}/{w}": v for (label, w), v in courses.items()},
         "cache_mb": {f"{label}/{p}": v for (label, p), v in cache_mb.items()}}, indent=2))
    print("\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
