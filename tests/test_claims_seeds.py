"""Every notebook that states claims (tlhelpers.claims) keeps them with another seed: the ci profile with seed 1,
through the course command (seed 0 is the reference run that tests/test_notebooks.py checks with nbval)."""

from __future__ import annotations

import json

import pytest

from tlhelpers import course
from tlhelpers.layout import REPO_ROOT
from tlhelpers.registry import load_registry

pytestmark = pytest.mark.slow
SPECS = [s for s in load_registry() if "claims.claim(" in (REPO_ROOT / s.path).read_text()]


def test_some_notebooks_state_claims():
    assert SPECS, "no notebook uses tlhelpers.claims"


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_claims_hold_for_seed_1(spec, tmp_path):
    result = course.run_notebook(spec, "ci", tmp_path, parameters={"seed": 1})
    assert result.status == "ok", f"{result.status}: {result.detail}"
    saved = json.loads((tmp_path / "metrics" / f"{spec.assignment}__{spec.path.stem}.json").read_text())
    assert saved["seed"] == 1 and saved["profile"] == "ci"
    claims = saved["metrics"].get("claims", {})
    assert claims, "the notebook states claims but none was recorded"
    failed = {name: c["text"] for name, c in claims.items() if not c["held"]}
    assert not failed, failed
