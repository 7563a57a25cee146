"""Domain adaptation without target labels: the framework-free pieces (NumPy / scikit-learn).

Same task, same label space, but the inputs' distribution differs (P(X_S) != P(X_T)) and only the source is
labelled. This module holds what works on features of any framework:

* :func:`coral` / :func:`coral_matrix`: CORAL (Sun, Feng & Saenko, 2016), the closed-form alignment of second
  order statistics: whiten the source features with their own covariance, re-colour them with the target's.
* :func:`coral_loss`: the Deep CORAL distance between two batches' covariances (Sun & Saenko, 2016); the
  NumPy reference for the PyTorch and Keras losses of the same name.
* :func:`select_pseudo_labels`: the confident target predictions that self-training keeps, optionally class
  balanced (Zou et al., 2018); :func:`self_training` runs the loop with any scikit-learn classifier.
* :func:`domain_distances` / :func:`distance_table`: assignment 01's distances (MMD, proxy A-distance from
  :mod:`tlhelpers.shift`) for a pair of feature sets, before and after a method.

The framework parts live in :mod:`tlhelpers.adapt.torch` and :mod:`tlhelpers.adapt.keras` with the same names
(``GradientReversal``, ``coral_loss``, ``adabn``...). Importing this module imports no deep-learning framework.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

import numpy as np

from tlhelpers import shift

__all__ = [
    "coral_matrix",
    "coral",
    "coral_loss",
    "PseudoLabels",
    "select_pseudo_labels",
    "self_training",
    "domain_distances",
    "distance_table",
]


def _pair(X_source: Any, X_target: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both samples as 2-D finite features with the same columns (tlhelpers.shift's validator)."""
    return shift.paired_features(X_source, X_target, flatten=False, finite=True,
                                 purpose=" to estimate a covariance")


def _sym_power(C: np.ndarray, power: float) -> np.ndarray:
    """``C ** power`` of a symmetric positive definite matrix through its eigendecomposition."""
    values, vectors = np.linalg.eigh(C)
    values = np.clip(values, np.finfo(np.float64).tiny, None)  # round-off can make a tiny eigenvalue negative
    return (vectors * values ** power) @ vectors.T


def coral_matrix(X_source: Any, X_target: Any, regularization: float = 1.0) -> np.ndarray:
    """The CORAL map ``A = C_S^{-1/2} C_T^{1/2}`` (features x features), with ``C = cov(X) + regularization * I``.

    Multiplying source features by ``A`` (rows are examples: ``X_source @ A``) first whitens them with their
    own covariance and then re-colours them with the target's (Sun, Feng & Saenko, "Return of frustratingly
    easy domain adaptation", AAAI 2016, Algorithm 1, where ``regularization = 1``).

    ``regularization`` (> 0) adds ``regularization * I`` to both covariances: it makes ``C_S`` invertible when
    there are fewer examples than features, and damps directions with little variance so that whitening does
    not blow up noise. Its size is relative to the features' variances, so standardise the features first (e.g.
    ``StandardScaler`` fitted on the source) or pass a value to match. The price is that the aligned source
    covariance equals the target's only up to that term: exactly ``C_T - r C_T^{1/2} C_S^{-1} C_T^{1/2}``
    (with the regularised ``C``), which tends to ``cov(X_target)`` as ``r`` -> 0. When both domains have the same
    covariance, ``A`` is the identity.
    """
    source, target = _pair(X_source, X_target)
    if not regularization > 0:
        raise ValueError(f"regularization must be positive (it keeps C_S invertible), got {regularization}")
    eye = regularization * np.eye(source.shape[1])
    cov_s = np.cov(source, rowvar=False) + eye
    cov_t = np.cov(target, rowvar=False) + eye
    return _sym_power(cov_s, -0.5) @ _sym_power(cov_t, 0.5)


def coral(X_source: Any, X_target: Any, regularization: float = 1.0, match_mean: bool = False) -> np.ndarray:
    """Source features aligned to the target's covariance with CORAL: ``X_source @ coral_matrix(...)``.

    Only the source moves; train the classifier on the result and apply it to the unchanged target
    features. ``match_mean=False`` is the paper's recipe (the covariance is aligned, the mean goes through the
    same linear map); ``match_mean=True`` also centres the source and moves it to the target's mean
    (``(X_S - mean_S) A + mean_T``), which changes only the means. See :func:`coral_matrix` for
    ``regularization``. Returns float64 features of the same shape as ``X_source``.
    """
    source, target = _pair(X_source, X_target)
    A = coral_matrix(source, target, regularization)
    if match_mean:
        return (source - source.mean(0)) @ A + target.mean(0)
    return source @ A


def coral_loss(source: Any, target: Any) -> float:
    """Deep CORAL's loss ``||C_S - C_T||_F^2 / (4 d^2)`` between two batches of ``d`` features.

    ``C`` are the (unbiased, ``n - 1``) covariance matrices of each batch (Sun & Saenko, "Deep CORAL", ECCV
    2016 workshops). 0 when the two batches have the same covariance, whatever their means. The PyTorch and
    Keras versions (same name) are differentiable and are checked against this one.
    """
    s, t = _pair(source, target)
    d = s.shape[1]
    diff = np.cov(s, rowvar=False).reshape(d, d) - np.cov(t, rowvar=False).reshape(d, d)
    return float((diff ** 2).sum() / (4.0 * d * d))


# --------------------------------------------------------------------------------------------- pseudo-labels


class PseudoLabels(NamedTuple):
    """What :func:`select_pseudo_labels` keeps: target ``indices`` (ascending), their predicted ``labels`` and
    the ``confidence`` (largest probability) of each."""

    indices: np.ndarray
    labels: np.ndarray
    confidence: np.ndarray


def select_pseudo_labels(probabilities: Any, threshold: float, per_class_max: int | None = None) -> PseudoLabels:
    """The target examples whose predicted class is confident enough to be used as a label.

    ``probabilities``: ``(n, k)`` predicted class probabilities on unlabelled target examples (rows sum to 1,
    e.g. softmax outputs). An example is kept when its largest probability is ``>= threshold``; its pseudo-label
    is that class. With ``per_class_max`` at most that many are kept per predicted class, the most confident
    first (ties: the lower index), so that one easy class cannot fill the pseudo-labelled set (class-balanced
    self-training). Returns :class:`PseudoLabels` sorted by index.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"probabilities must be (n examples, k >= 2 classes), got shape {p.shape}")
    if p.size and (np.any(p < -1e-6) or not np.allclose(p.sum(1), 1.0, atol=1e-3)):
        raise ValueError("each row of probabilities must be non-negative and sum to 1: pass softmax outputs "
                         "(e.g. model.predict_proba or softmax(logits)), not logits")
    if not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"threshold must be a probability between 0 and 1, got {threshold}")
    if per_class_max is not None and (not isinstance(per_class_max, (int, np.integer)) or per_class_max < 1):
        raise ValueError(f"per_class_max must be a positive integer or None, got {per_class_max!r}")
    labels = p.argmax(1)
    confidence = p.max(1)
    keep = np.flatnonzero(confidence >= threshold)
    if per_class_max is not None:
        # most confident first; a stable sort keeps the lower index first among equal confidences
        order = keep[np.argsort(-confidence[keep], kind="stable")]
        chosen = [order[labels[order] == c][:per_class_max] for c in range(p.shape[1])]
        keep = np.sort(np.concatenate(chosen))
    return PseudoLabels(keep, labels[keep], confidence[keep])


def self_training(estimator: Any, X_source: Any, y_source: Any, X_target: Any, threshold: float = 0.9,
                  rounds: int = 5, per_class_max: int | None = None) -> tuple[Any, list[int]]:
    """Self-training on unlabelled target features with any scikit-learn classifier (``predict_proba``).

    Fit on the labelled source; then ``rounds`` times: predict the target, keep the confident predictions with
    :func:`select_pseudo_labels` and refit a fresh clone on source + pseudo-labelled target. Pseudo-labels are
    chosen again from scratch each round (a wrong one can be dropped later). Returns the last fitted estimator
    and the number of pseudo-labels used in each round. (scikit-learn's ``SelfTrainingClassifier`` is the
    variant that fixes a pseudo-label once given and has no class balance.)
    """
    from sklearn.base import clone

    source, target = _pair(X_source, X_target)
    y = np.asarray(y_source)
    if len(y) != len(source):
        raise ValueError(f"X_source has {len(source)} rows but y_source has {len(y)}")
    if rounds < 0:
        raise ValueError(f"rounds must be >= 0, got {rounds}")
    model = clone(estimator).fit(source, y)
    counts: list[int] = []
    for _ in range(int(rounds)):
        chosen = select_pseudo_labels(model.predict_proba(target), threshold, per_class_max)
        labels = model.classes_[chosen.labels]
        counts.append(len(chosen.indices))
        model = clone(estimator).fit(np.vstack([source, target[chosen.indices]]), np.r_[y, labels])
    return model, counts


# ------------------------------------------------------------------------------------------------ distances


def domain_distances(X_source: Any, X_target: Any, random_state: int = 0, max_points: int = 2000,
                     gamma: float | None = None) -> dict[str, float]:
    """Assignment 01's distances between two feature sets: ``{"mmd": ..., "proxy_a_distance": ...}``.

    :func:`tlhelpers.shift.mmd_rbf` (median-heuristic width unless ``gamma`` is given; pass the ``gamma`` of
    the "before" pair to compare before and after on the same kernel) and
    :func:`tlhelpers.shift.proxy_a_distance` (held-out domain classifier). Each sample is subsampled to at most
    ``max_points`` rows (drawn with ``random_state``) to keep MMD's ``n^2`` kernel affordable.
    """
    source, target = _pair(X_source, X_target)
    rng = np.random.default_rng(random_state)
    if len(source) > max_points:
        source = source[rng.choice(len(source), max_points, replace=False)]
    if len(target) > max_points:
        target = target[rng.choice(len(target), max_points, replace=False)]
    return {"mmd": shift.mmd_rbf(source, target, gamma=gamma),
            "proxy_a_distance": shift.proxy_a_distance(source, target, random_state=random_state)}


def distance_table(pairs: Mapping[str, tuple[Any, Any]], random_state: int = 0, max_points: int = 2000) -> Any:
    """A pandas DataFrame of :func:`domain_distances`, one row per named ``(X_source, X_target)`` pair.

    E.g. ``distance_table({"before": (fs, ft), "CORAL": (coral(fs, ft), ft)})``: how far apart the domains
    are before and after a method.
    """
    import pandas as pd

    if not pairs:
        raise ValueError("pairs is empty: pass {name: (X_source, X_target), ...}")
    rows = {name: domain_distances(s, t, random_state=random_state, max_points=max_points)
            for name, (s, t) in pairs.items()}
    return pd.DataFrame.from_dict(rows, orient="index")
