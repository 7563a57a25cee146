"""Measures of how far apart two domains (or two label distributions) are.

* :func:`proxy_a_distance` (Ben-David et al., 2007/2010): train a classifier to tell source from target
  examples; if it cannot (held-out error 0.5) the domains look alike, if it always can (error 0) they are far
  apart. PAD = 2 (1 - 2 err), in [0, 2].
* :func:`mmd_rbf`: the (squared) maximum mean discrepancy with a Gaussian kernel whose width comes from the
  median heuristic: 0 for identical samples, larger when the distributions differ.
* :func:`label_shift`: total-variation distance between two label distributions, P(Y_S) vs P(Y_T).

MMD is written out in NumPy because it is a few lines that the course teaches (assignment 01 asks students to
write it); the classifier behind the proxy A-distance is scikit-learn's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "domain_classifier_error",
    "proxy_a_distance",
    "median_heuristic_gamma",
    "mmd_rbf",
    "label_distribution",
    "label_shift",
    "prior_correction",
]


def as_features(name: str, X: Any, flatten: bool = True, finite: bool = False, purpose: str = "") -> np.ndarray:
    """``X`` as a float64 array of examples x features, checked; the validator of this module and tlhelpers.adapt.

    ``flatten=True`` takes any array with one example per row (images are flattened); ``flatten=False`` wants 2-D
    features already. ``finite=True`` refuses NaN and infinite values. At least 2 examples (``purpose`` says why,
    in the error). Every refusal is a ValueError that names ``name`` and says what to do.
    """
    array = np.asarray(X, dtype=np.float64)
    if flatten and array.ndim < 2:
        raise ValueError(f"{name} must hold one example per row (at least 2-D), got shape {array.shape}")
    if not flatten and array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of features (examples x features), got shape {array.shape}: "
                         "flatten images or extract features first")
    if len(array) < 2:
        raise ValueError(f"{name} needs at least 2 examples{purpose}, got {len(array)}")
    if finite and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array.reshape(len(array), -1)


def paired_features(X_source: Any, X_target: Any, flatten: bool = True, finite: bool = False,
                    purpose: str = "") -> tuple[np.ndarray, np.ndarray]:
    """:func:`as_features` of both samples, which must have the same number of features."""
    source = as_features("X_source", X_source, flatten, finite, purpose)
    target = as_features("X_target", X_target, flatten, finite, purpose)
    if source.shape[1] != target.shape[1]:
        raise ValueError(
            f"source and target have different numbers of features ({source.shape[1]} vs {target.shape[1]}), "
            "so different feature spaces: map both to a common representation first (the same feature extractor)"
        )
    return source, target


def domain_classifier_error(X_source: Any, X_target: Any, random_state: int | None = 0,
                            test_size: float = 0.5, classifier: Any = None) -> float:
    """Held-out error of a classifier trained to tell source (label 0) from target (label 1) examples.

    Both samples are split in a stratified way; the default classifier is a standardised, L2-regularised
    logistic regression (scikit-learn). Any estimator with ``fit``/``score`` can be passed instead.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    source, target = paired_features(X_source, X_target)
    X = np.vstack([source, target])
    d = np.r_[np.zeros(len(source), dtype=int), np.ones(len(target), dtype=int)]
    X_train, X_test, d_train, d_test = train_test_split(
        X, d, test_size=test_size, random_state=random_state, stratify=d)
    model = classifier if classifier is not None else make_pipeline(
        StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    model.fit(X_train, d_train)
    return float(1.0 - model.score(X_test, d_test))


def proxy_a_distance(X_source: Any, X_target: Any, random_state: int | None = 0, test_size: float = 0.5,
                     classifier: Any = None) -> float:
    """Proxy A-distance ``2 (1 - 2 err)`` from :func:`domain_classifier_error`, clipped to ``[0, 2]``.

    An error above 0.5 only means the classifier is no better than chance, so it counts as distance 0.
    """
    error = domain_classifier_error(X_source, X_target, random_state, test_size, classifier)
    return float(np.clip(2.0 * (1.0 - 2.0 * error), 0.0, 2.0))


def _squared_distances(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    sq = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
    return np.maximum(sq, 0.0)


def median_heuristic_gamma(X: Any, Y: Any | None = None, max_points: int = 1000, random_state: int = 0) -> float:
    """``gamma = 1 / (2 median^2)`` for the kernel ``exp(-gamma ||x - y||^2)``.

    The median is over the pairwise distances of the pooled sample (at most ``max_points`` points, drawn with
    ``random_state``), ignoring zero distances.
    """
    pooled = as_features("X", X) if Y is None else np.vstack(paired_features(X, Y))
    if len(pooled) > max_points:
        pooled = pooled[np.random.default_rng(random_state).choice(len(pooled), max_points, replace=False)]
    distances = np.sqrt(_squared_distances(pooled, pooled))
    positive = distances[np.triu_indices(len(pooled), k=1)]
    positive = positive[positive > 0]
    if positive.size == 0:
        return 1.0  # all points identical: any width gives MMD 0
    return float(1.0 / (2.0 * np.median(positive) ** 2))


def mmd_rbf(X_source: Any, X_target: Any, gamma: float | None = None, unbiased: bool = False) -> float:
    """Squared maximum mean discrepancy between two samples with the RBF kernel ``exp(-gamma ||x - y||^2)``.

    ``gamma=None`` uses :func:`median_heuristic_gamma` on the pooled sample. The default (biased, V-statistic)
    estimate is ``mean K(S,S) + mean K(T,T) - 2 mean K(S,T)``: never negative and exactly 0 for identical
    samples. ``unbiased=True`` drops the diagonal terms (can be slightly negative when there is no shift).
    """
    source, target = paired_features(X_source, X_target)
    if gamma is None:
        gamma = median_heuristic_gamma(source, target)
    if gamma <= 0:
        raise ValueError(f"gamma must be positive, got {gamma}")
    k_ss = np.exp(-gamma * _squared_distances(source, source))
    k_tt = np.exp(-gamma * _squared_distances(target, target))
    k_st = np.exp(-gamma * _squared_distances(source, target))
    if unbiased:
        m, n = len(source), len(target)
        term_s = (k_ss.sum() - np.trace(k_ss)) / (m * (m - 1))
        term_t = (k_tt.sum() - np.trace(k_tt)) / (n * (n - 1))
        return float(term_s + term_t - 2.0 * k_st.mean())
    return float(max(k_ss.mean() + k_tt.mean() - 2.0 * k_st.mean(), 0.0))


def label_distribution(y: Any, n_classes: int | None = None) -> np.ndarray:
    """Empirical class proportions P(Y) of integer labels ``0..n_classes-1``."""
    labels = np.asarray(y)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"y must be a non-empty 1-D array of integer labels, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
        raise ValueError("labels must be non-negative integers (class indices)")
    counts = np.bincount(labels, minlength=n_classes or 0)
    if n_classes is not None and len(counts) > n_classes:
        raise ValueError(f"found label {labels.max()} but n_classes={n_classes}")
    return counts / counts.sum()


def label_shift(y_source: Any, y_target: Any, n_classes: int | None = None) -> float:
    """Total-variation distance ``0.5 * sum |P_S(y) - P_T(y)|`` between two label distributions (0 to 1)."""
    ys, yt = np.asarray(y_source), np.asarray(y_target)
    k = n_classes or int(max(ys.max(), yt.max())) + 1
    return float(0.5 * np.abs(label_distribution(ys, k) - label_distribution(yt, k)).sum())


def prior_correction(proba: Any, source_priors: Any, target_priors: Any) -> np.ndarray:
    """Re-weight predicted class probabilities for new class priors (Saerens et al., 2002).

    Under pure label shift P(X|Y) stays the same, so ``P_T(y|x)`` is proportional to
    ``P_S(y|x) * P_T(y) / P_S(y)``. Returns the renormalised probabilities.
    """
    p = np.asarray(proba, dtype=np.float64)
    ps, pt = np.asarray(source_priors, dtype=np.float64), np.asarray(target_priors, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != len(ps) or len(ps) != len(pt):
        raise ValueError(f"proba must be (n, k) with k = len(priors); got {p.shape}, {len(ps)} and {len(pt)} priors")
    if np.any(ps <= 0):
        raise ValueError("source priors must all be positive (every class seen in training)")
    weighted = p * (pt / ps)[None, :]
    return weighted / weighted.sum(axis=1, keepdims=True)
