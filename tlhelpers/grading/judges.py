"""Shared judges for probe files: verdicts computed in the grader's process (see :mod:`tlhelpers.grading.probes`).

A probe file is imported by the grader (:func:`~tlhelpers.grading.probes.load_probes`); only a probe's *body* (and
its ``uses=`` helpers) is sent to the student's kernel. A judge is called in the grader as ``judge(got, expected)``
and returns None (passed) or the reason, in words for the feedback. So probe files may build their judges from this
module, but never call it from a probe body: the kernel has no grader code.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

import numpy as np

from tlhelpers.grading.probes import Judge


@lru_cache(maxsize=8)
def emoji_labels(split: str, *, size: int, random_state: int, classes: str = "groups",
                 style: str = "colour") -> np.ndarray:
    """The labels of one split of the emoji set, loaded here, in the grader's process (cached, read-only).

    Why here: a trained-model probe reports only the classes the student's model predicts on the held-out images.
    Were the labels computed in the kernel and sent back beside the predictions, student code could rewrite both
    (the kernel is the student's); loaded by the grader, they are out of its reach. The arguments must be the ones
    the probe body passes to ``emoji.load_emoji`` (the split depends on ``random_state``, the set on ``size``).
    """
    from tlhelpers import emoji

    labels = emoji.load_emoji(classes=classes, style=style, size=size, random_state=random_state).split(split)[1]
    labels = np.array(labels, copy=True)
    labels.setflags(write=False)
    return labels


def held_out_accuracy(threshold: float, *, size: int, random_state: int, key: str = "predictions",
                      split: str = "test", check: Judge | None = None, subject: str = "the trained model",
                      hint: str = "", labels: Callable[[], np.ndarray] | None = None) -> Judge:
    """A probe judge: the accuracy of the classes the probe reported under ``got[key]`` must reach ``threshold``.

    The labels of the emoji ``split`` (``size`` px, ``random_state``: the probe body's own arguments) are loaded in
    the grader's process (:func:`emoji_labels`), never taken from the kernel. ``check(got, expected)``, when given,
    runs first and its reason, if any, is the verdict (the probe's other requirements: what was trained, the
    history). The answer fails when it is not a dict with ``key``, when the predictions are not one integer class
    per held-out image, or when the accuracy is below ``threshold``; the reason then names the accuracy and the
    threshold (neither is secret) and ends with ``hint``. ``labels`` replaces the loader (tests).
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be an accuracy in [0, 1], got {threshold!r}")

    def load() -> np.ndarray:
        return labels() if labels is not None else emoji_labels(split, size=size, random_state=random_state)

    def judge(got: Any, expected: Any) -> str | None:
        if check is not None:
            message = check(got, expected)
            if message:
                return message
        if not isinstance(got, dict) or key not in got:
            return "the answer has the wrong form"
        predictions, truth = got[key], load()
        if not isinstance(predictions, list) or len(predictions) != len(truth):
            return f"expected one predicted class for each of the {len(truth)} held-out emoji"
        if not all(isinstance(p, int) and not isinstance(p, bool) for p in predictions):
            return "the predicted classes must be integers"
        accuracy = float(np.mean(np.asarray(predictions) == truth))
        if accuracy < threshold:
            return (f"{subject} classifies {accuracy:.3f} of the {len(truth)} held-out emoji correctly, below the "
                    f"{threshold} required" + (f": {hint}" if hint else ""))
        return None

    return judge
