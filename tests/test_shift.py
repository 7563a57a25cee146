import numpy as np
import pytest

from tlhelpers import shift


@pytest.fixture
def gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 5))
    b = rng.normal(size=(300, 5))
    far = rng.normal(loc=3.0, size=(300, 5))
    return a, b, far


def test_mmd_known_answers(gaussians):
    a, b, far = gaussians
    assert shift.mmd_rbf(a, a) == 0.0
    same = shift.mmd_rbf(a, b)
    apart = shift.mmd_rbf(a, far)
    assert same < 0.01 < 0.3 < apart
    assert abs(shift.mmd_rbf(a, b, unbiased=True)) < 0.01


def test_mmd_grows_with_the_shift(gaussians):
    a, b, _ = gaussians
    values = [shift.mmd_rbf(a, b + delta, gamma=0.1) for delta in (0.0, 0.5, 1.0, 2.0)]
    assert values == sorted(values)


def test_mmd_matches_a_direct_formula():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(20, 3)), rng.normal(size=(15, 3)) + 0.5
    k = lambda u, v: np.exp(-0.3 * ((u[:, None, :] - v[None, :, :]) ** 2).sum(-1))  # noqa: E731
    expected = k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean()
    assert shift.mmd_rbf(x, y, gamma=0.3) == pytest.approx(expected, rel=1e-10)


def test_median_heuristic():
    x = np.array([[0.0], [1.0], [3.0]])  # distances 1, 2, 3 -> median 2
    assert shift.median_heuristic_gamma(x) == pytest.approx(1 / 8)
    assert shift.median_heuristic_gamma(np.zeros((4, 2))) == 1.0


def test_proxy_a_distance_known_answers(gaussians):
    a, b, far = gaussians
    assert shift.proxy_a_distance(a, b) < 0.3
    assert shift.proxy_a_distance(a, far) > 1.8
    err = shift.domain_classifier_error(a, far)
    assert err < 0.05


def test_feature_space_mismatch_is_explained():
    with pytest.raises(ValueError, match="different feature spaces"):
        shift.mmd_rbf(np.zeros((5, 784)), np.zeros((5, 64)))
    with pytest.raises(ValueError, match="one example per row"):
        shift.proxy_a_distance(np.zeros(5), np.zeros(5))


def test_label_shift():
    y = np.array([0, 0, 1, 1])
    assert shift.label_shift(y, y) == 0.0
    assert shift.label_shift(np.array([0, 0]), np.array([1, 1])) == 1.0
    assert shift.label_shift(np.array([0, 1, 2, 3]), np.array([0, 0, 1, 1])) == pytest.approx(0.5)
    assert shift.label_distribution(np.array([2, 2, 0]), 4).tolist() == pytest.approx([1 / 3, 0, 2 / 3, 0])
    with pytest.raises(ValueError, match="non-negative integers"):
        shift.label_distribution(np.array([0.5, 1.0]))


def test_prior_correction_moves_decisions_towards_the_new_priors():
    proba = np.array([[0.6, 0.4], [0.5, 0.5]])
    corrected = shift.prior_correction(proba, [0.5, 0.5], [0.2, 0.8])
    assert np.allclose(corrected.sum(1), 1.0)
    assert corrected.argmax(1).tolist() == [1, 1]
    assert np.allclose(shift.prior_correction(proba, [0.5, 0.5], [0.5, 0.5]), proba)
    with pytest.raises(ValueError, match="positive"):
        shift.prior_correction(proba, [1.0, 0.0], [0.5, 0.5])


def test_one_validator_for_shift_and_adapt():
    """shift.as_features serves both: shift flattens images, tlhelpers.adapt wants finite 2-D features."""
    images = np.zeros((3, 4, 4))
    assert shift.as_features("X", images).shape == (3, 16)
    with pytest.raises(ValueError, match="2-D array of features .* flatten images or extract features first"):
        shift.as_features("X", images, flatten=False)
    bad = np.array([[0.0, np.nan], [1.0, 2.0]])
    assert shift.as_features("X", bad).shape == (2, 2)          # shift's distances see NaN for themselves
    with pytest.raises(ValueError, match="X contains NaN or infinite values"):
        shift.as_features("X", bad, finite=True)
    with pytest.raises(ValueError, match="needs at least 2 examples to estimate a covariance, got 1"):
        shift.as_features("X", np.ones((1, 3)), purpose=" to estimate a covariance")
    with pytest.raises(ValueError, match="different numbers of features .* different feature spaces"):
        shift.paired_features(np.ones((3, 2)), np.ones((3, 5)))
