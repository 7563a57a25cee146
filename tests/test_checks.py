import numpy as np
import pytest

from tlhelpers import checks


def test_unanswered():
    with pytest.raises(checks.AnswerError, match="no answer yet"):
        checks.check_answered(None, "x")
    with pytest.raises(AssertionError):  # nbgrader sees a failed test
        checks.check_answered(..., "x")


def test_check_close_messages():
    checks.check_close(0.1 + 0.2, 0.3, "s")
    with pytest.raises(checks.AnswerError, match=r"got 0.5, expected 0.3. Hint: add"):
        checks.check_close(0.5, 0.3, "s", hint="add")
    with pytest.raises(checks.AnswerError, match="largest difference at flat index 2"):
        checks.check_close([1, 2, 9], [1, 2, 3], "v")
    with pytest.raises(checks.AnswerError, match="shape"):
        checks.check_close([1, 2], [1, 2, 3], "v")
    with pytest.raises(checks.AnswerError, match="NaN"):
        checks.check_close(float("nan"), 1.0, "v")
    with pytest.raises(checks.AnswerError, match="number"):
        checks.check_close("abc", 1.0, "v")


def test_check_equal_type_and_value():
    checks.check_equal({"a": 1}, {"a": 1}, "d")
    checks.check_equal(np.int64(3), 3, "n")
    with pytest.raises(checks.AnswerError, match="should be a dict"):
        checks.check_equal([1], {"a": 1}, "d")
    with pytest.raises(checks.AnswerError, match="not right"):
        checks.check_equal("a", "b", "s")


def test_check_shape_type_in():
    checks.check_shape(np.zeros((3, 4)), (3, None), "a")
    with pytest.raises(checks.AnswerError, match=r"expected \(3, 'any', 1\)"):
        checks.check_shape(np.zeros((3, 4)), (3, None, 1), "a")
    checks.check_type(3, (int, float), "n")
    with pytest.raises(checks.AnswerError, match="should be a int or float"):
        checks.check_type("3", (int, float), "n")
    with pytest.raises(checks.AnswerError, match="must be one of"):
        checks.check_in("x", ["a", "b"], "c")
