"""tlhelpers.adapt (NumPy / scikit-learn): CORAL, the Deep CORAL distance, pseudo-labels, distances."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.linalg import sqrtm

from tlhelpers import adapt, shift


def _gaussian(n: int, cov: np.ndarray, mean: float = 0.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.multivariate_normal(np.full(len(cov), mean), cov, size=n)


@pytest.fixture
def domains() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    return _gaussian(400, A @ A.T + 0.1 * np.eye(5), 0.0, 2), _gaussian(300, 3 * B @ B.T + 0.1 * np.eye(5), 2.0, 3)


def test_import_loads_no_framework():
    code = ("import sys, tlhelpers.adapt; "
            "print(sorted(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_coral_gives_the_source_the_target_covariance(domains):
    source, target = domains
    aligned = adapt.coral(source, target, regularization=1e-8)
    assert not np.allclose(np.cov(source, rowvar=False), np.cov(target, rowvar=False), rtol=0.1)
    np.testing.assert_allclose(np.cov(aligned, rowvar=False), np.cov(target, rowvar=False), rtol=1e-5, atol=1e-6)


def test_coral_regularisation_is_exactly_the_documented_term(domains):
    source, target = domains
    r = 1.0
    cs = np.cov(source, rowvar=False) + r * np.eye(5)
    ct = np.cov(target, rowvar=False) + r * np.eye(5)
    root_t = np.real(sqrtm(ct))
    expected = ct - r * root_t @ np.linalg.inv(cs) @ root_t
    aligned = adapt.coral(source, target, regularization=r)
    np.testing.assert_allclose(np.cov(aligned, rowvar=False), expected, rtol=1e-8, atol=1e-8)
    # the regulariser costs something: the match is no longer exact
    assert not np.allclose(np.cov(aligned, rowvar=False), np.cov(target, rowvar=False), rtol=1e-3)


def test_coral_is_the_identity_between_equal_domains(domains):
    source, _ = domains
    np.testing.assert_allclose(adapt.coral(source, source), source, atol=1e-10)
    # the same covariance with another mean: the map is still the identity (CORAL aligns covariances only)
    np.testing.assert_allclose(adapt.coral_matrix(source, source + 5.0), np.eye(5), atol=1e-10)


def test_coral_match_mean_moves_the_mean_and_keeps_the_covariance(domains):
    source, target = domains
    moved = adapt.coral(source, target, match_mean=True)
    np.testing.assert_allclose(moved.mean(0), target.mean(0), atol=1e-10)
    np.testing.assert_allclose(np.cov(moved, rowvar=False), np.cov(adapt.coral(source, target), rowvar=False),
                               atol=1e-10)


def test_coral_rejects_bad_input(domains):
    source, target = domains
    with pytest.raises(ValueError, match="different numbers of features"):
        adapt.coral(source, target[:, :3])
    with pytest.raises(ValueError, match="regularization must be positive"):
        adapt.coral(source, target, regularization=0)
    with pytest.raises(ValueError, match="2-D"):
        adapt.coral(source[0], target)


def test_coral_loss_closed_form():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4))
    assert adapt.coral_loss(x, x) == 0.0
    assert adapt.coral_loss(x, x + 3.0) == pytest.approx(0.0, abs=1e-12)  # means do not count
    # one feature: ((var_s - var_t)^2) / 4
    a, b = rng.normal(size=(30, 1)), 2.0 * rng.normal(size=(40, 1))
    expected = (a.var(ddof=1) - b.var(ddof=1)) ** 2 / 4.0
    assert adapt.coral_loss(a, b) == pytest.approx(expected, rel=1e-12)
    assert adapt.coral_loss(a, b) > 0


PROBS = np.array([
    [0.95, 0.05, 0.00],   # 0: class 0, confident
    [0.50, 0.30, 0.20],   # 1: class 0, unsure
    [0.05, 0.91, 0.04],   # 2: class 1, confident
    [0.97, 0.02, 0.01],   # 3: class 0, most confident
    [0.10, 0.10, 0.80],   # 4: class 2, below 0.9
    [0.92, 0.04, 0.04],   # 5: class 0, confident
])


def test_select_pseudo_labels_thresholds():
    chosen = adapt.select_pseudo_labels(PROBS, 0.9)
    assert chosen.indices.tolist() == [0, 2, 3, 5]
    assert chosen.labels.tolist() == [0, 1, 0, 0]
    np.testing.assert_allclose(chosen.confidence, [0.95, 0.91, 0.97, 0.92])
    assert adapt.select_pseudo_labels(PROBS, 0.0).indices.tolist() == list(range(6))
    assert adapt.select_pseudo_labels(PROBS, 0.97).indices.tolist() == [3]  # the threshold is inclusive
    assert len(adapt.select_pseudo_labels(PROBS, 1.0).indices) == 0


def test_select_pseudo_labels_balances_classes():
    chosen = adapt.select_pseudo_labels(PROBS, 0.9, per_class_max=2)
    assert chosen.indices.tolist() == [0, 2, 3]  # class 0 keeps its two most confident (3 and 0), not 5
    assert np.bincount(chosen.labels, minlength=3).max() <= 2
    ties = np.array([[0.9, 0.1]] * 4)
    assert adapt.select_pseudo_labels(ties, 0.5, per_class_max=2).indices.tolist() == [0, 1]


def test_select_pseudo_labels_rejects_bad_input():
    with pytest.raises(ValueError, match="sum to 1"):
        adapt.select_pseudo_labels(np.log(PROBS + 1e-3), 0.5)  # log-probabilities / logits
    with pytest.raises(ValueError, match="threshold"):
        adapt.select_pseudo_labels(PROBS, 90)
    with pytest.raises(ValueError, match="per_class_max"):
        adapt.select_pseudo_labels(PROBS, 0.5, per_class_max=0)
    with pytest.raises(ValueError, match="k >= 2"):
        adapt.select_pseudo_labels(PROBS[:, 0], 0.5)


def shifted_blobs(seed: int, n: int = 300) -> tuple[np.ndarray, ...]:
    """Two 2-D Gaussian classes; the target is the source rotated by 45 degrees and shifted across the
    source's boundary (a source-only linear classifier scores 0.70-0.83 on it)."""
    rng = np.random.default_rng(seed)
    y_s, y_t = rng.integers(0, 2, n), rng.integers(0, 2, n)
    centres = np.array([[-2.5, 0.0], [2.5, 0.0]])
    x_s = centres[y_s] + rng.normal(size=(n, 2))
    angle = np.deg2rad(45)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    x_t = (centres[y_t] + rng.normal(size=(n, 2))) @ rotation.T + np.array([1.5, 0.0])
    return x_s, y_s, x_t, y_t


def test_self_training_selects_and_improves_on_a_shifted_target():
    from sklearn.linear_model import LogisticRegression

    gains = []
    for seed in (0, 1):
        x_s, y_s, x_t, y_t = shifted_blobs(seed)
        source_only = LogisticRegression().fit(x_s, y_s).score(x_t, y_t)
        unchanged, no_rounds = adapt.self_training(LogisticRegression(), x_s, y_s, x_t, rounds=0)
        assert no_rounds == [] and unchanged.score(x_t, y_t) == source_only
        model, counts = adapt.self_training(LogisticRegression(), x_s, y_s, x_t, threshold=0.8, rounds=10,
                                            per_class_max=100)
        assert len(counts) == 10 and all(0 < c <= 200 for c in counts)
        gains.append(model.score(x_t, y_t) - source_only)
    assert min(gains) > 0.05, f"self-training should beat source-only on the shifted blobs, gains {gains}"


def test_domain_distances_reuse_the_shift_measures(domains):
    source, target = domains
    d = adapt.domain_distances(source, target)
    assert d["mmd"] == pytest.approx(shift.mmd_rbf(source, target))
    assert d["proxy_a_distance"] == pytest.approx(shift.proxy_a_distance(source, target, random_state=0))
    same = adapt.domain_distances(source, source)
    assert same["mmd"] == pytest.approx(0.0, abs=1e-12)
    table = adapt.distance_table({"before": (source, target),
                                  "CORAL + mean": (adapt.coral(source, target, match_mean=True), target)})
    assert list(table.index) == ["before", "CORAL + mean"]
    assert table.loc["CORAL + mean", "mmd"] < table.loc["before", "mmd"]
    with pytest.raises(ValueError, match="empty"):
        adapt.distance_table({})
