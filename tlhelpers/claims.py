"""Claims as code: a statement of a notebook that prints its evidence and fails the run when it does not hold.

A number the notebook computes reaches the prose only through code output, and a sentence such as "MMD ranks the
harm" or "the mapped model is as good as the retrained one" is written as::

    claims.claim("mmd_ranks_harm", "MMD ranks the shifted targets in the order of the accuracy they cost",
                 holds=rho.p_value < 0.01 and rho.statistic > 0,
                 evidence={"spearman": rho.statistic, "p": rho.p_value, "targets": 12})

:func:`claim` prints the claim with its evidence, records it in the run's metrics (the ``"claims"`` entry of the
metrics JSON: name -> text, held, enforced, evidence, order), and raises :class:`ClaimFailed` when it does not hold in
the ``ci`` and ``full`` profiles, which fails the papermill run, nbval and the course command.

A claim about a *difference* must rest on a comparison that can fail. The helpers below give the numbers for
that, each returning what it prints:

* :func:`paired_difference`: the mean of paired differences (one pair per seed, or per test example) with a
  Student-t confidence interval: with two seeds the interval is wide (t = 12.7 at 95 %), as it should be;
* :func:`wilson_interval`: a confidence interval of an accuracy (a binomial proportion) from its test examples;
* :func:`mcnemar_exact`: McNemar's exact test of two classifiers' paired predictions on the same test set.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["ClaimFailed", "claim", "recorded_claims", "failed_claims",
           "PairedDifference", "paired_difference", "Interval", "wilson_interval", "McNemar", "mcnemar_exact"]

#: Profiles in which a claim that does not hold stops the run.
ENFORCED_PROFILES = ("ci", "full")


class ClaimFailed(AssertionError):
    """A notebook's claim that its own numbers do not support (raised in the ``ci`` and ``full`` profiles)."""


def _evidence_dict(evidence: Any) -> dict[str, Any]:
    """Evidence as a flat JSON-able mapping: a mapping, a dataclass result, a string, or a sequence of these."""
    if evidence is None:
        return {}
    if isinstance(evidence, str):
        return {"note": evidence}
    if dataclasses.is_dataclass(evidence) and not isinstance(evidence, type):
        return dataclasses.asdict(evidence)
    if isinstance(evidence, Mapping):
        out: dict[str, Any] = {}
        for key, value in evidence.items():
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                value = dataclasses.asdict(value)
            out[str(key)] = value
        return out
    raise TypeError("evidence must be a mapping of names to numbers, a statistics result or a string, "
                    f"got {type(evidence).__name__}")


def _fmt(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return f"{value:.3g}" if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e4) else f"{value:.4g}"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def _shown_evidence(evidence: Any) -> str:
    """The evidence as printed in the notebook: statistics results in their own words, numbers rounded."""
    if evidence is None:
        return ""
    if isinstance(evidence, str):
        return evidence
    if dataclasses.is_dataclass(evidence) and not isinstance(evidence, type):
        return str(evidence)
    return "; ".join(f"{k}: {v}" if dataclasses.is_dataclass(v) and not isinstance(v, type) else f"{k}={_fmt(v)}"
                     for k, v in evidence.items())


def format_evidence(evidence: Mapping[str, Any]) -> str:
    """``name=value, ...`` with numbers rounded for reading (the metrics JSON keeps them exact)."""
    return ", ".join(f"{k}={_fmt(v)}" for k, v in evidence.items())


def claim(name: str, text: str, holds: bool, evidence: Any = None, settings: Any = None) -> bool:
    """State a claim of the notebook: print it with its evidence, record it, and fail the run if it does not hold.

    ``name`` is a short identifier (unique in the notebook), ``text`` the sentence as a reader should read it,
    ``holds`` the test that decides it (computed from the notebook's own numbers), ``evidence`` the numbers that
    test used (a mapping, a result of the helpers below, or a string). Returns ``holds``.

    The claim is recorded under ``"claims"`` in the metrics of the current run (see
    :func:`tlhelpers.settings.setup`) as ``{"text", "held", "enforced", "evidence", "order"}``.

    In the ``ci`` and ``full`` profiles a claim that does not hold raises :class:`ClaimFailed`. In ``smoke`` it is
    only recorded and printed as "not enforced in smoke": smoke shrinks every sample to tens or hundreds of examples
    and trains for a few steps, so differences that ``ci`` establishes with confidence intervals are often not
    significant there, and a claim must not fail where its data cannot decide it. Smoke proves that the code runs
    (it is also the profile the grader runs submissions in), not what the numbers say.
    """
    from tlhelpers import settings as settings_module

    if not isinstance(name, str) or not name:
        raise ValueError("a claim needs a non-empty string name")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"claim {name!r} needs the sentence it states as `text`")
    if isinstance(holds, np.ndarray) or not isinstance(holds, (bool, np.bool_)):
        raise TypeError(f"claim {name!r}: `holds` must be a single True/False (e.g. `p < 0.01`), "
                        f"got {type(holds).__name__}")
    held = bool(holds)
    facts = _evidence_dict(evidence)
    run = settings or settings_module._current or settings_module.setup()
    enforced = run.profile in ENFORCED_PROFILES
    recorded = dict(run.metrics.get("claims", {}))
    # The metrics file sorts its keys; "order" keeps the notebook's order (a re-run cell keeps its place).
    order = recorded[name]["order"] if name in recorded else len(recorded)
    entry = {"text": text, "held": held, "enforced": enforced, "evidence": facts, "order": order}
    recorded[name] = entry
    settings_module.record_metric("claims", recorded, settings=run)

    verdict = "HOLDS" if held else ("DOES NOT HOLD" if enforced else f"does not hold (not enforced in {run.profile})")
    print(f"Claim [{name}] {verdict}: {text}")
    if facts:
        print(f"  evidence: {_shown_evidence(evidence)}")
    if not held and enforced:
        raise ClaimFailed(f"claim {name!r} does not hold: {text} (evidence: {format_evidence(facts) or 'none'}). "
                          "The notebook's numbers do not support what its text says: if you changed an exercise "
                          "answer, check it; otherwise rewrite the claim to say what the numbers support.")
    return held


def recorded_claims(metrics: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The claims recorded in a metrics mapping (``load_metrics(path)``), name -> entry, in the notebook's order."""
    found = metrics.get("claims", {})
    if not isinstance(found, Mapping):
        return {}
    return dict(sorted(found.items(), key=lambda item: item[1].get("order", 0) if isinstance(item[1], Mapping) else 0))


def failed_claims(metrics: Mapping[str, Any], enforced_only: bool = True) -> dict[str, dict[str, Any]]:
    """The recorded claims that did not hold (by default only those whose profile enforces them)."""
    return {k: v for k, v in recorded_claims(metrics).items()
            if not v.get("held") and (v.get("enforced") or not enforced_only)}


# ----------------------------------------------------------------------------------------------------------------
# Statistics for claims about differences


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")


@dataclasses.dataclass(frozen=True)
class PairedDifference:
    """Mean of paired differences ``a - b`` with a Student-t confidence interval."""

    mean: float
    low: float
    high: float
    n: int
    confidence: float
    p_value: float           # two-sided paired t-test of "mean difference = 0"

    def __str__(self) -> str:
        return (f"mean difference {self.mean:+.4f}, {self.confidence:.0%} CI [{self.low:+.4f}, {self.high:+.4f}] "
                f"over {self.n} pairs (paired t-test p = {_fmt(self.p_value)})")


def paired_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95,
                      show: bool = True) -> PairedDifference:
    """Mean of ``a[i] - b[i]`` (e.g. one pair per seed) with its t confidence interval; prints it when ``show``.

    ``a`` and ``b`` must be paired (same seeds, same test set, in the same order). A difference is established
    when the interval excludes 0; with few pairs the interval is wide, so an unsupported claim fails.
    """
    from scipy import stats

    _check_confidence(confidence)
    x, y = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"paired samples need the same length, got {len(x)} and {len(y)}")
    if len(x) < 2:
        raise ValueError("a paired comparison needs at least 2 pairs (e.g. 2 seeds)")
    d = x - y
    mean = float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(len(d)))
    if se == 0.0:  # identical differences: the interval is the point, the test is decided by the mean alone
        low = high = mean
        p = 1.0 if mean == 0.0 else 0.0
    else:
        half = float(stats.t.ppf(0.5 + confidence / 2, len(d) - 1)) * se
        low, high = mean - half, mean + half
        p = float(2 * stats.t.sf(abs(mean) / se, len(d) - 1))
    result = PairedDifference(mean, low, high, len(d), confidence, p)
    if show:
        print(result)
    return result


@dataclasses.dataclass(frozen=True)
class Interval:
    """An accuracy (a proportion of ``n`` test examples) with its Wilson score confidence interval."""

    estimate: float
    low: float
    high: float
    n: int
    confidence: float

    def __str__(self) -> str:
        return f"{self.estimate:.4f}, {self.confidence:.0%} CI [{self.low:.4f}, {self.high:.4f}] (n = {self.n})"


def wilson_interval(correct: Any, n: int | None = None, confidence: float = 0.95, show: bool = True) -> Interval:
    """Wilson score interval of an accuracy: ``correct`` successes out of ``n``, or a boolean array of outcomes.

    Unlike the normal ("Wald") interval it stays inside [0, 1] and keeps its coverage near 0 and 1.
    """
    from scipy import stats

    _check_confidence(confidence)
    if n is None:
        outcomes = np.asarray(correct)
        if outcomes.ndim != 1 or outcomes.size == 0:
            raise ValueError("give `correct` as a 1-D array of per-example outcomes, or a count together with `n`")
        k, n = int(np.count_nonzero(outcomes)), int(outcomes.size)
    else:
        k, n = int(correct), int(n)
        if n <= 0 or not 0 <= k <= n:
            raise ValueError(f"need 0 <= correct <= n and n > 0, got correct={k}, n={n}")
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    result = Interval(p, max(0.0, centre - half), min(1.0, centre + half), n, confidence)
    if show:
        print(result)
    return result


@dataclasses.dataclass(frozen=True)
class McNemar:
    """McNemar's exact test on paired outcomes: ``a_only`` examples only A gets right, ``b_only`` only B."""

    accuracy_a: float
    accuracy_b: float
    a_only: int
    b_only: int
    n: int
    p_value: float           # two-sided exact (binomial) p-value

    def __str__(self) -> str:
        return (f"accuracy {self.accuracy_a:.4f} vs {self.accuracy_b:.4f} on the same {self.n} examples: "
                f"{self.a_only} right only by the first, {self.b_only} only by the second, "
                f"McNemar exact p = {_fmt(self.p_value)}")


def mcnemar_exact(correct_a: Any, correct_b: Any, show: bool = True) -> McNemar:
    """McNemar's exact test: do two classifiers differ in accuracy on the same test examples?

    ``correct_a`` and ``correct_b`` are boolean arrays (one entry per test example, same order): whether each
    classifier got the example right. Only the discordant examples count; under "no difference" each of them is
    equally likely to favour either classifier, so the p-value is a two-sided binomial test with p = 1/2.
    """
    from scipy import stats

    a, b = np.asarray(correct_a, dtype=bool).ravel(), np.asarray(correct_b, dtype=bool).ravel()
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"paired outcomes need the same non-zero length, got {a.size} and {b.size}")
    a_only, b_only = int(np.sum(a & ~b)), int(np.sum(~a & b))
    discordant = a_only + b_only
    p = 1.0 if discordant == 0 else min(1.0, float(2 * stats.binom.cdf(min(a_only, b_only), discordant, 0.5)))
    result = McNemar(float(a.mean()), float(b.mean()), a_only, b_only, int(a.size), p)
    if show:
        print(result)
    return result
