"""The course's notebook registry (``tlhelpers/notebooks.yaml``) and what a run of one notebook gave.

One file lists every notebook with its per-profile timeouts, extra papermill parameters, metric thresholds and
grading data; :func:`load_registry` is the one reader, used by the course runner (:mod:`tlhelpers.course`), its
report (:mod:`tlhelpers.report`), the tests and the benchmarks. Needs only PyYAML.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tlhelpers.layout import REPO_ROOT
from tlhelpers.settings import PROFILES

__all__ = ["REGISTRY", "NotebookSpec", "RunResult", "load_registry", "check_thresholds"]

#: The registry file, shipped inside the package.
REGISTRY = Path(__file__).resolve().parent / "notebooks.yaml"


@dataclass(frozen=True)
class NotebookSpec:
    """One notebook of the course, as the registry describes it."""

    path: Path                                   # relative to the repository root
    timeouts: dict[str, int]                     # profile -> seconds for the whole notebook
    gpu_for_full: bool = False
    thresholds: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # profile -> metric -> bound
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)  # profile -> extra papermill parameters
    grading: dict[str, Any] = field(default_factory=dict)  # e.g. {"wrong_answer": {"grade_id": ..., "source": ...}}

    @property
    def name(self) -> str:
        """``<assignment>/<notebook>`` without the suffix, e.g. ``01_domains_and_tasks/domains_and_tasks``."""
        return f"{self.path.parent.name}/{self.path.stem}"

    @property
    def assignment(self) -> str:
        """The assignment folder name."""
        return self.path.parent.name

    @property
    def stem(self) -> str:
        """The notebook's file name without ``.ipynb``."""
        return self.path.stem


@dataclass
class RunResult:
    """What one papermill run gave."""

    notebook: str
    profile: str
    seconds: float
    status: str                  # "ok", "error", "claim failed", "dead kernel", "timeout", "thresholds", "parameters"
    detail: str = ""
    output: str = ""
    metrics_path: str = ""
    executed_path: str = ""      # the executed notebook ("" when it never ran)


def load_registry(path: str | os.PathLike[str] = REGISTRY, root: Path = REPO_ROOT) -> list[NotebookSpec]:
    """Read the notebook registry; every listed notebook must exist under ``root`` and have a timeout per profile."""
    import yaml

    with open(path) as handle:
        raw = yaml.safe_load(handle)
    specs = []
    for entry in raw.get("notebooks", []):
        timeouts = entry.get("timeout", {})
        missing = [p for p in PROFILES if p not in timeouts]
        if missing:
            raise ValueError(f"{entry.get('path')}: no timeout for profile(s) {missing} in {path}")
        spec = NotebookSpec(
            path=Path(entry["path"]),
            timeouts={p: int(t) for p, t in timeouts.items()},
            gpu_for_full=bool(entry.get("gpu_for_full", False)),
            thresholds=entry.get("thresholds", {}) or {},
            parameters=entry.get("parameters", {}) or {},
            grading=entry.get("grading", {}) or {},
        )
        if not (root / spec.path).is_file():
            raise FileNotFoundError(f"{spec.path} is listed in {path} but does not exist")
        specs.append(spec)
    return specs


def check_thresholds(metrics: dict[str, Any], bounds: dict[str, dict[str, float]]) -> list[str]:
    """Human-readable failures of ``metrics`` against ``{name: {"min": a, "max": b}}`` (missing counts as failure)."""
    failures = []
    for name, bound in bounds.items():
        if name not in metrics or not isinstance(metrics[name], (int, float)) or metrics[name] is None:
            failures.append(f"metric {name!r} was not recorded as a number")
            continue
        value = float(metrics[name])
        if "min" in bound and value < float(bound["min"]):
            failures.append(f"{name} = {value:.4g} is below the minimum {bound['min']}")
        if "max" in bound and value > float(bound["max"]):
            failures.append(f"{name} = {value:.4g} is above the maximum {bound['max']}")
    return failures
