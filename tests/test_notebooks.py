"""Every solution notebook: reference outputs (nbval, ci profile, the run that also yields the metrics checked
against the registry, tlhelpers/notebooks.yaml) and a papermill run through the course command (smoke
profile)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tlhelpers import course
from tlhelpers.registry import load_registry

SPECS = load_registry()
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_reference_outputs_and_ci_thresholds(spec, tmp_path, repo_root):
    metrics = tmp_path / "metrics.json"
    env = dict(os.environ, TLHELPERS_METRICS=str(metrics))
    for name in ("TLHELPERS_PROFILE", "MPLBACKEND"):  # the committed outputs are the ci profile, inline plots
        env.pop(name, None)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", str(repo_root / spec.path), "-q", "-p", "no:cacheprovider",
         "-p", "no:xdist", "--nbval-sanitize-with", str(repo_root / "tests" / "nbval_sanitize.cfg"),
         "--nbval-cell-timeout", str(spec.timeouts["ci"]), "--rootdir", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=spec.timeouts["ci"] + 120, cwd=tmp_path)
    assert proc.returncode == 0, f"nbval found differences or errors:\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}"
    recorded = json.loads(metrics.read_text())
    assert recorded["profile"] == "ci"
    failures = course.check_thresholds(recorded["metrics"], spec.thresholds.get("ci", {}))
    assert not failures, failures


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_papermill_smoke_run(spec, tmp_path):
    result = course.run_notebook(spec, "smoke", tmp_path)
    assert result.status == "ok", f"{result.status}: {result.detail}"
    recorded = json.loads((tmp_path / "metrics" / f"{spec.assignment}__{spec.path.stem}.json").read_text())
    assert recorded["profile"] == "smoke"
    # smoke runs other (fewer, smaller) label budgets, so its metric names differ from ci's; it must still
    # record its results, as numbers.
    assert recorded["metrics"], "the smoke run recorded no metric"
    numbers = [v for v in recorded["metrics"].values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    assert numbers, "the smoke run recorded no numeric metric"
    assert (tmp_path / "executed" / spec.path.parent.name / spec.path.name).is_file()
