"""Checks for students' answers whose failure messages say what is wrong and what was expected.

Visible test cells call these so that a failing check reads as advice, not as a bare ``AssertionError``.
Each raises :class:`AnswerError` (an ``AssertionError``, so nbgrader counts it as a failed test).
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

__all__ = ["AnswerError", "check_type", "check_shape", "check_close", "check_equal", "check_in", "check_answered"]


class AnswerError(AssertionError):
    """An answer that does not pass a check; the message says what to fix."""


def check_answered(value: Any, name: str) -> None:
    """Fail if ``value`` is still ``None`` or ``...`` (the exercise has not been answered)."""
    if value is None or value is Ellipsis:
        raise AnswerError(f"`{name}` has no answer yet: fill in the cell that defines it, then run it again.")


def check_type(value: Any, expected: type | tuple[type, ...], name: str) -> None:
    """Fail unless ``value`` is an instance of ``expected``."""
    check_answered(value, name)
    if not isinstance(value, expected):
        names = expected.__name__ if isinstance(expected, type) else " or ".join(t.__name__ for t in expected)
        raise AnswerError(f"`{name}` should be a {names}, but it is a {type(value).__name__}.")


def check_shape(array: Any, expected: tuple[int | None, ...], name: str) -> None:
    """Fail unless ``np.shape(array)`` matches ``expected`` (``None`` matches any size)."""
    check_answered(array, name)
    shape = np.shape(array)
    if len(shape) != len(expected) or any(e is not None and s != e for s, e in zip(shape, expected)):
        shown = tuple("any" if e is None else e for e in expected)
        raise AnswerError(f"`{name}` has shape {shape}, expected {shown}.")


def check_close(value: Any, expected: Any, name: str, rtol: float = 1e-5, atol: float = 1e-8,
                hint: str = "") -> None:
    """Fail unless ``value`` is numerically close to ``expected`` (elementwise, same shape)."""
    check_answered(value, name)
    try:
        got = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise AnswerError(f"`{name}` should be a number or an array of numbers, got {type(value).__name__}.") from None
    want = np.asarray(expected, dtype=np.float64)
    if got.shape != want.shape:
        raise AnswerError(f"`{name}` has shape {got.shape}, expected {want.shape}.")
    if not np.all(np.isfinite(got)):
        raise AnswerError(f"`{name}` contains NaN or infinite values.")
    if not np.allclose(got, want, rtol=rtol, atol=atol):
        if got.size == 1:
            detail = f"got {got.item():.6g}, expected {want.item():.6g}"
        else:
            worst = int(np.argmax(np.abs(got - want)))
            detail = (f"largest difference at flat index {worst}: got {got.flat[worst]:.6g}, "
                      f"expected {want.flat[worst]:.6g}")
        raise AnswerError(f"`{name}` is not right: {detail}." + (f" Hint: {hint}" if hint else ""))


def check_equal(value: Any, expected: Any, name: str, hint: str = "") -> None:
    """Fail unless ``value == expected`` (for plain values: strings, ints, tuples, dicts)."""
    check_answered(value, name)
    if type(value) is not type(expected) and not (isinstance(value, (int, np.integer))
                                                   and isinstance(expected, (int, np.integer))):
        raise AnswerError(f"`{name}` should be a {type(expected).__name__}, but it is a {type(value).__name__}.")
    if value != expected:
        raise AnswerError(f"`{name}` is {value!r}, which is not right." + (f" Hint: {hint}" if hint else ""))


def check_in(value: Any, allowed: Iterable[Any], name: str) -> None:
    """Fail unless ``value`` is one of ``allowed``."""
    check_answered(value, name)
    options = list(allowed)
    if value not in options:
        raise AnswerError(f"`{name}` is {value!r}; it must be one of {options}.")
