"""The transfer-learning strategy matrix: which strategy for how much target data and how similar a source.

:func:`recommend` maps (labelled examples per class, similarity) to one of four strategies (:data:`STRATEGIES`)
with the reason; :func:`recommend_from_data` measures the similarity itself, as the proxy A-distance between
source and target features (:func:`measure_similarity`). NumPy and scikit-learn only; the PyTorch experiments
that check this advice (the source CNN, layer transfer, the training loop) are in
:mod:`tlhelpers.strategy_experiments`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "STRATEGIES",
    "SMALL_DATA_MAX",
    "PAD_SIMILAR_MAX",
    "Recommendation",
    "recommend",
    "measure_similarity",
    "recommend_from_data",
]

#: The four strategies, from "reuse nothing" to "reuse everything and adapt it".
STRATEGIES = ("train_from_scratch", "feature_extraction", "fine_tune_top", "fine_tune_all")

#: Fewer labelled examples per class than this counts as a *small* target data set. A rule of thumb, not a
#: law: with a few dozen examples per class or fewer, every layer that is allowed to learn overfits; with
#: hundreds, a small network can learn its own features. Assignment 04 measures on both sides of it.
SMALL_DATA_MAX = 50

#: A proxy A-distance (0..2) up to this value counts as a *similar* source; above it, *different* (see
#: :func:`recommend_from_data` for why).
PAD_SIMILAR_MAX = 1.8

_SIMILARITIES = ("similar", "different")


class Recommendation(NamedTuple):
    """What :func:`recommend` advises: the ``strategy`` (one of :data:`STRATEGIES`) and why."""

    strategy: str
    reason: str
    size: str                       # "small" or "large"
    similarity: str                 # "similar" or "different"
    distance: float | None = None   # the measured proxy A-distance, when the advice came from data


_ADVICE = {
    ("small", "similar"): (
        "feature_extraction",
        "the source's features already describe this kind of image, and too few labels would overfit any layer "
        "that we let learn: freeze the whole network and train only a new head"),
    ("large", "similar"): (
        "fine_tune_all",
        "the source's features are a good start and there are enough labels to adapt every layer without "
        "overfitting: start from the source weights and fine-tune everything (transferred layers at a lower "
        "learning rate)"),
    ("small", "different"): (
        "fine_tune_top",
        "the generic lower layers (edges, strokes, textures) still help, but the specific top layers describe "
        "the wrong things; with few labels, keep the lower layers frozen and let only the top layers and a new "
        "head learn"),
    ("large", "different"): (
        "fine_tune_all",
        "the source's top features do not fit the target, so frozen source features would hold the model back "
        "(negative transfer), but its weights are still a starting point and there are enough labels to move every "
        "layer away from them: fine-tune everything (transferred layers at a lower learning rate). Older versions "
        "of the table say train from scratch here; assignment 04 measures both and cannot separate them, while "
        "frozen features lose"),
}


def _check_labels_per_class(n_labels_per_class: Any) -> int:
    if isinstance(n_labels_per_class, bool) or not isinstance(n_labels_per_class, (int, np.integer)):
        raise ValueError(f"n_labels_per_class must be a positive integer, got {n_labels_per_class!r}")
    if n_labels_per_class < 1:
        raise ValueError(f"n_labels_per_class must be at least 1, got {n_labels_per_class}")
    return int(n_labels_per_class)


def recommend(n_labels_per_class: int, similarity: str | float) -> Recommendation:
    """The strategy for a target with ``n_labels_per_class`` labelled examples per class and a source that is
    ``"similar"`` or ``"different"`` (or a measured proxy A-distance, a number from 0 to 2: see
    :func:`recommend_from_data`), with the reason.

    The size is *small* below :data:`SMALL_DATA_MAX` labels per class, else *large*. The four answers are the
    classic matrix: small+similar -> feature extraction, large+similar -> fine-tune all, small+different ->
    fine-tune the top, large+different -> fine-tune all (the documents' advice; assignment 04 finds it
    inseparable from training from scratch there). Raises ``ValueError`` for a count that is not a
    positive integer, or a similarity that is neither of the two words nor a distance in [0, 2].
    """
    n = _check_labels_per_class(n_labels_per_class)
    distance = None
    if isinstance(similarity, (float, int, np.floating, np.integer)) and not isinstance(similarity, bool):
        distance = float(similarity)
        if not 0.0 <= distance <= 2.0:
            raise ValueError(f"a proxy A-distance lies between 0 and 2, got {similarity!r}")
        similarity = "similar" if distance <= PAD_SIMILAR_MAX else "different"
    elif similarity not in _SIMILARITIES:
        raise ValueError(f"similarity must be 'similar', 'different' or a proxy A-distance (0 to 2), got "
                         f"{similarity!r}; to measure it from features, use recommend_from_data(source_features, "
                         "target_features, n_labels_per_class)")
    size = "small" if n < SMALL_DATA_MAX else "large"
    strategy, why = _ADVICE[(size, similarity)]
    measured = "" if distance is None else (
        f"proxy A-distance {distance:.2f} ({'at most' if similarity == 'similar' else 'above'} "
        f"{PAD_SIMILAR_MAX} means {similarity}); ")
    reason = (f"{measured}{size} target data ({n} labels per class; small means fewer than {SMALL_DATA_MAX}) and "
              f"a {similarity} source: {why}.")
    return Recommendation(strategy, reason, size, similarity, distance)


def measure_similarity(source_features: Any, target_features: Any, random_state: int | None = 0,
                       max_per_domain: int = 500) -> float:
    """Proxy A-distance (0 = indistinguishable, 2 = perfectly separable) between two sets of features.

    At most ``max_per_domain`` rows of each set are used (drawn with ``random_state``), equally many from each,
    so that the domain classifier's chance level is 0.5 whatever the sizes. Uses
    :func:`tlhelpers.shift.proxy_a_distance` (a logistic regression told to tell the two sets apart).
    """
    from tlhelpers.shift import proxy_a_distance

    source = np.asarray(source_features, dtype=np.float64)
    target = np.asarray(target_features, dtype=np.float64)
    for name, array in (("source_features", source), ("target_features", target)):
        if array.ndim != 2:
            raise ValueError(f"{name} must be a 2-D array (one feature vector per row), got shape {array.shape}")
        if len(array) < 10:
            raise ValueError(f"{name} has {len(array)} rows: need at least 10 to measure a distance")
    if source.shape[1] != target.shape[1]:
        raise ValueError(f"source and target features have different widths ({source.shape[1]} vs "
                         f"{target.shape[1]}): compute both with the same network and layer")
    if max_per_domain < 10:
        raise ValueError(f"max_per_domain must be at least 10, got {max_per_domain}")
    rng = np.random.default_rng(random_state)
    m = min(len(source), len(target), max_per_domain)
    source = source[rng.choice(len(source), m, replace=False)]
    target = target[rng.choice(len(target), m, replace=False)]
    return proxy_a_distance(source, target, random_state=random_state)


def recommend_from_data(source_features: Any, target_features: Any, n_labels_per_class: int,
                        random_state: int | None = 0) -> Recommendation:
    """:func:`recommend` with the similarity measured: the proxy A-distance (:func:`measure_similarity`) between
    ``source_features`` and ``target_features``, rows of features from the *same* network and layer (e.g. the
    source model's last block on source images and on target images).

    A distance up to :data:`PAD_SIMILAR_MAX` (1.8) counts as *similar*, above it as *different*. Raises
    ``ValueError`` for features that are not 2-D, have different widths or fewer than 10 rows.

    * Why the proxy A-distance: it is bounded (0 to 2) whatever the width and scale of the features, so one
      threshold serves any network, and it is the domain term of Ben-David et al.'s bound on the target error.
      (MMD with the median-heuristic kernel depends on the feature width and the sample size.)
    * Why 1.8: PAD = 2 (1 - 2 err), so 1.8 means the domain classifier is wrong on fewer than 5% of the
      held-out examples, i.e. the two sets hardly overlap. A lower threshold would call two halves of one
      data set "different": a network's top features separate *classes*, so a source and a target with
      different classes from the same kind of images already reach 1.3 to 1.5 (measured in assignment 04).
      The threshold was placed between the distances of assignment 04's two targets, which it then
      classifies; it has not been validated on other source-target pairs.

    The reason quotes the measured distance.
    """
    n = _check_labels_per_class(n_labels_per_class)
    distance = measure_similarity(source_features, target_features, random_state=random_state)
    advice = recommend(n, distance)
    return advice._replace(reason="measured " + advice.reason)
