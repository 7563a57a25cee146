"""Every solution notebook: reference outputs (nbval, ci profile, the run that also yields the metrics checked
against the registry, tlhelpers/notebooks.yaml).

The smoke profile is not run here: tests/test_grading_round_trip.py runs every solution notebook in smoke (the
answer key, then the solution as a submission, in the grader's sandbox), and fails when any cell of it fails.
The course command's papermill path (parameters injected, metrics file, executed copy) is tested on small
notebooks in tests/test_course_runner.py; that a notebook records its metrics is checked on the ci run below.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tlhelpers.registry import check_thresholds, load_registry

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
    failures = check_thresholds(recorded["metrics"], spec.thresholds.get("ci", {}))
    assert not failures, failures
