"""The course command and its report with claims (tlhelpers.claims): a failed claim marks the notebook, and the
report lists every claim with held / failed."""

import json
import textwrap

import nbformat
import pytest

from tlhelpers import course, report

PARAMS = 'profile = "ci"\nseed = 0\nmetrics_path = None\n'
BODY = textwrap.dedent("""
    from tlhelpers import claims, settings
    run = settings.setup(profile, seed=seed, metrics_path=metrics_path)
    run.record("accuracy", 0.9)
    claims.claim("beats_chance", "the model beats chance", 0.9 > 0.5, {"accuracy": 0.9, "chance": 0.5})
    claims.claim("perfect", "the model is perfect", 0.9 == 1.0, {"accuracy": 0.9})
""")


def _course(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(BODY), nbformat.v4.new_code_cell("print('after')")]
    (tmp_path / "solutions" / "a1").mkdir(parents=True)
    nbformat.write(nb, tmp_path / "solutions" / "a1" / "claims.ipynb")
    registry = tmp_path / "notebooks.yaml"
    registry.write_text("notebooks:\n  - path: solutions/a1/claims.ipynb\n    timeout: {smoke: 60, ci: 60, full: 60}\n")
    return registry


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["ci", "smoke"])
def test_failed_claim_marks_the_notebook_and_the_report_lists_claims(tmp_path, profile):
    registry = _course(tmp_path)
    build = tmp_path / "build"
    [result] = course.run_course(profile, workers=1, build_dir=build, registry=registry, root=tmp_path)
    md = (build / "report.md").read_text()
    assert "the model beats chance | held | accuracy=0.9, chance=0.5 |" in md
    if profile == "ci":
        assert result.status == "claim failed"
        assert result.detail == "claim 'perfect' does not hold: the model is perfect"
        assert "| **perfect**: the model is perfect | FAILED |" in md
        assert "claim failed" in (build / "course-ci.md").read_text()
        assert "<tr class='bad'><td><b>perfect</b>" in (build / "report.html").read_text()
    else:
        assert result.status == "ok"
        assert "| **perfect**: the model is perfect | failed (not enforced in smoke) |" in md


def test_claim_rows_and_detail_from_a_metrics_file(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"profile": "ci", "seed": 0, "metrics": {"acc": 0.5, "claims": {
        "a": {"text": "A | B", "held": True, "enforced": True, "evidence": {"p": 0.0001234}},
        "b": {"text": "B", "held": False, "enforced": True, "evidence": {}}}}}))
    assert report.claim_rows(str(path)) == [("a", "A | B", "held", "p=0.000123"), ("b", "B", "FAILED", "")]
    assert course.failed_claims_detail(path) == "claim 'b' does not hold: B"
    assert course.failed_claims_detail(tmp_path / "missing.json") == ""
    assert report.claim_rows("") == []
