"""Claims as code (tlhelpers.claims): printing, recording, enforcement by profile, and the statistics checked
against values worked out by hand."""

import json
import math

import numpy as np
import pytest

from tlhelpers import claims, settings


@pytest.fixture
def ci_run(tmp_path, monkeypatch):
    monkeypatch.delenv("TLHELPERS_PROFILE", raising=False)
    monkeypatch.delenv("TLHELPERS_METRICS", raising=False)
    return settings.setup("ci", seed=0, metrics_path=tmp_path / "m.json")


def test_claim_that_holds_is_printed_and_recorded(ci_run, capsys):
    assert claims.claim("a_beats_b", "A beats B", 0.9 > 0.8, {"a": 0.9, "b": 0.8}) is True
    out = capsys.readouterr().out
    assert "Claim [a_beats_b] HOLDS: A beats B" in out and "evidence: a=0.9; b=0.8" in out
    saved = json.loads(ci_run.metrics_path.read_text())["metrics"]["claims"]
    assert saved == {"a_beats_b": {"text": "A beats B", "held": True, "enforced": True,
                                   "evidence": {"a": 0.9, "b": 0.8}, "order": 0}}


def test_claim_that_fails_raises_in_ci_and_full_and_is_recorded_first(ci_run, capsys):
    with pytest.raises(claims.ClaimFailed, match="'b_beats_a' does not hold: B beats A"):
        claims.claim("b_beats_a", "B beats A", np.float64(0.8) > 0.9, {"a": 0.9, "b": 0.8})
    assert "DOES NOT HOLD" in capsys.readouterr().out
    metrics = settings.load_metrics(ci_run.metrics_path)
    assert claims.failed_claims(metrics) == {"b_beats_a": metrics["claims"]["b_beats_a"]}
    full = settings.setup("full", seed=0)
    with pytest.raises(claims.ClaimFailed):
        claims.claim("x", "x", False, settings=full)


def test_smoke_records_but_does_not_enforce(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TLHELPERS_PROFILE", raising=False)
    run = settings.setup("smoke", seed=0, metrics_path=tmp_path / "m.json")
    assert claims.claim("tiny", "a difference too small for smoke", False, "only 10 examples") is False
    assert "not enforced in smoke" in capsys.readouterr().out
    metrics = settings.load_metrics(run.metrics_path)
    assert metrics["claims"]["tiny"]["held"] is False and metrics["claims"]["tiny"]["enforced"] is False
    assert claims.failed_claims(metrics) == {}
    assert list(claims.failed_claims(metrics, enforced_only=False)) == ["tiny"]


def test_several_claims_accumulate_and_a_rerun_replaces(ci_run, capsys):
    claims.claim("one", "first", True)
    claims.claim("two", "second", True, {"acc": claims.wilson_interval(8, 10, show=False)})
    assert "evidence: acc: 0.8000, 95% CI [0.4902, 0.9433] (n = 10)" in capsys.readouterr().out
    claims.claim("one", "first, restated", True)  # re-running a cell in Jupyter
    claims.claim("a_last", "third, sorted first by name in the file", True)
    metrics = settings.load_metrics(ci_run.metrics_path)
    saved = claims.recorded_claims(metrics)
    assert list(saved) == ["one", "two", "a_last"] and saved["one"]["text"] == "first, restated"
    assert list(metrics["claims"]) == ["a_last", "one", "two"]    # the JSON file sorts its keys
    assert saved["two"]["evidence"]["acc"]["n"] == 10


def test_claim_rejects_bad_input(ci_run):
    with pytest.raises(TypeError, match="single True/False"):
        claims.claim("arr", "an array is not a verdict", np.array([True, False]))
    with pytest.raises(TypeError, match="single True/False"):
        claims.claim("num", "a number is not a verdict", 1)
    with pytest.raises(ValueError, match="sentence"):
        claims.claim("empty", " ", True)
    with pytest.raises(TypeError, match="evidence"):
        claims.claim("ev", "evidence of a wrong kind", True, 3.0)


def test_paired_difference_by_hand(capsys):
    # d = 1, 2, 3: mean 2, sd 1, se 1/sqrt(3); t(0.975, df=2) = 4.302653; for df = 2 the two-sided p-value of
    # t = 2 sqrt(3) is 1 - t / sqrt(2 + t^2) = 1 - sqrt(12/14).
    result = claims.paired_difference([2.0, 4.0, 6.0], [1.0, 2.0, 3.0])
    half = 4.302653 / math.sqrt(3)
    assert result.mean == pytest.approx(2.0)
    assert (result.low, result.high) == pytest.approx((2 - half, 2 + half), abs=1e-5)
    assert result.p_value == pytest.approx(1 - math.sqrt(12 / 14), abs=1e-9)
    assert "mean difference +2.0000" in capsys.readouterr().out


def test_paired_difference_two_seeds_cannot_establish_a_small_gap():
    # Two seeds, both favour A by 2-4 points: t(0.975, df=1) = 12.706, so the interval includes 0.
    result = claims.paired_difference([0.82, 0.84], [0.80, 0.80], show=False)
    assert result.mean == pytest.approx(0.03)
    assert result.low == pytest.approx(0.03 - 12.7062 * 0.01, abs=1e-4) and result.low < 0 < result.high
    same = claims.paired_difference([0.5, 0.6], [0.4, 0.5], show=False)   # identical differences
    assert same.low == same.high == pytest.approx(0.1) and same.p_value == 0.0
    with pytest.raises(ValueError, match="at least 2"):
        claims.paired_difference([1.0], [0.0])
    with pytest.raises(ValueError, match="same length"):
        claims.paired_difference([1.0, 2.0], [0.0])


def test_wilson_interval_by_hand():
    # 8 of 10: centre (0.8 + z^2/20) / (1 + z^2/10), half z/(1 + z^2/10) sqrt(0.016 + z^2/400), z = 1.959964
    result = claims.wilson_interval(8, 10, show=False)
    assert (result.low, result.high) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert claims.wilson_interval(0, 10, show=False).low == 0.0
    assert claims.wilson_interval(0, 10, show=False).high == pytest.approx(3.8415 / 13.8415, abs=1e-4)
    from_array = claims.wilson_interval(np.array([True] * 8 + [False] * 2), show=False)
    assert (from_array.low, from_array.high, from_array.n) == (result.low, result.high, 10)
    wider = claims.wilson_interval(8, 10, confidence=0.99, show=False)
    assert wider.low < result.low and wider.high > result.high
    with pytest.raises(ValueError):
        claims.wilson_interval(11, 10)
    with pytest.raises(ValueError, match="confidence"):
        claims.wilson_interval(1, 10, confidence=95)


def test_mcnemar_exact_by_hand():
    # 1 example right only by A, 9 only by B, 5 by both: p = 2 P(Bin(10, 1/2) <= 1) = 2 * 11 / 1024.
    a = np.array([1] * 1 + [0] * 9 + [1] * 5, dtype=bool)
    b = np.array([0] * 1 + [1] * 9 + [1] * 5, dtype=bool)
    result = claims.mcnemar_exact(a, b, show=False)
    assert (result.a_only, result.b_only, result.n) == (1, 9, 15)
    assert result.p_value == pytest.approx(22 / 1024)
    assert result.accuracy_a == pytest.approx(6 / 15) and result.accuracy_b == pytest.approx(14 / 15)
    assert claims.mcnemar_exact(a, a, show=False).p_value == 1.0
    balanced = claims.mcnemar_exact([1, 0], [0, 1], show=False)
    assert balanced.p_value == 1.0           # 2 * P(X <= 1 | n = 2) = 1.5, capped at 1
    with pytest.raises(ValueError):
        claims.mcnemar_exact([1, 0], [1])
