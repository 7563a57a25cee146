"""The shared held-out-accuracy judge (tlhelpers/grading/judges.py), on labels of the test's own (no emoji loaded)."""

from __future__ import annotations

import numpy as np
import pytest

from tlhelpers.grading import judges
from tlhelpers.grading.judges import held_out_accuracy
from tlhelpers.grading.probes import Probe, judge

LABELS = np.array([0, 1, 2, 3, 0, 1, 2, 3, 0, 1])


def _judge(threshold: float = 0.5, **kwargs):
    return held_out_accuracy(threshold, size=32, random_state=0, labels=lambda: LABELS, **kwargs)


def _right(n: int) -> list[int]:
    """Predictions with exactly ``n`` of the ten right."""
    return [int(y) if i < n else int(y + 1) % 4 for i, y in enumerate(LABELS)]


def test_wrong_length_fails_and_says_how_many():
    message = _judge()({"predictions": _right(10)[:-1]}, {})
    assert message == f"expected one predicted class for each of the {len(LABELS)} held-out emoji"
    assert _judge()({"predictions": _right(10) + [0]}, {})


def test_not_a_list_or_wrong_key_fails():
    assert _judge()({"predictions": 3}, {}) is not None
    assert _judge()({"other": _right(10)}, {}) == "the answer has the wrong form"
    assert _judge()([0, 1], {}) == "the answer has the wrong form"


@pytest.mark.parametrize("bad", [1.0, True, "1", None])
def test_non_integer_classes_fail(bad):
    predictions = _right(10)
    predictions[3] = bad
    assert _judge()({"predictions": predictions}, {}) == "the predicted classes must be integers"


def test_below_threshold_fails_naming_the_accuracy_and_the_threshold():
    message = _judge(0.65, subject="the head", hint="train it")({"predictions": _right(6)}, {})
    assert message is not None
    assert "0.600" in message and "0.65" in message and message.startswith("the head ")
    assert message.endswith(": train it")


def test_at_or_above_threshold_passes():
    assert _judge(0.6)({"predictions": _right(6)}, {}) is None
    assert _judge(0.6)({"predictions": _right(10)}, {}) is None


def test_check_runs_first_and_its_reason_is_the_verdict():
    seen = []

    def check(got, expected):
        seen.append((got, expected))
        return "the base changed" if got.get("changed") else None

    assert _judge(check=check)({"predictions": _right(10), "changed": True}, {"k": 1}) == "the base changed"
    assert _judge(check=check)({"predictions": _right(10), "changed": False}, {"k": 1}) is None
    assert seen[0] == ({"predictions": _right(10), "changed": True}, {"k": 1})


def test_custom_key_and_threshold_bounds():
    assert held_out_accuracy(0.9, size=32, random_state=0, key="test predictions",
                             labels=lambda: LABELS)({"test predictions": _right(9)}, {}) is None
    with pytest.raises(ValueError):
        held_out_accuracy(1.5, size=32, random_state=0)


def test_keeps_the_probe_judge_contract():
    """Through probes.judge, as the grader calls it: the reason is prefixed with the probe's description."""
    p = Probe(name="trained", test_grade_id="t", body="def trained():\n    return {}\n", judge=_judge(0.65),
              what="the trained head")
    assert judge(p, {"ok": True, "value": {"predictions": _right(7)}}, {}) is None
    reason = judge(p, {"ok": True, "value": {"predictions": _right(6)}}, {})
    assert reason.startswith("the trained head: ") and "0.600" in reason


def test_labels_are_loaded_in_the_grader_with_the_probe_arguments(monkeypatch):
    calls = []

    class Fake:
        def split(self, name):
            return None, np.arange(5) if name == "test" else np.zeros(2, int)

    def load_emoji(**kwargs):
        calls.append(kwargs)
        return Fake()

    from tlhelpers import emoji

    monkeypatch.setattr(emoji, "load_emoji", load_emoji)
    judges.emoji_labels.cache_clear()
    try:
        j = held_out_accuracy(0.5, size=48, random_state=7)
        assert j({"predictions": [0, 1, 2, 3, 4]}, {}) is None
        assert j({"predictions": [0, 1, 2, 3, 4]}, {}) is None                      # cached: loaded once
        assert calls == [{"classes": "groups", "style": "colour", "size": 48, "random_state": 7}]
        labels = judges.emoji_labels("test", size=48, random_state=7)
        with pytest.raises(ValueError):
            labels[0] = 9                                                          # shared, so read-only
    finally:
        judges.emoji_labels.cache_clear()
