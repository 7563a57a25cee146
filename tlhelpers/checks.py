"""Checks for students' answers whose failure messages say what is wrong and what was expected.

Visible test cells call these so that a failing check reads as advice, not as a bare ``AssertionError``.
Each raises :class:`AnswerError` (an ``AssertionError``, so nbgrader counts it as a failed test). In Jupyter an
``AnswerError`` shows its message only, not a traceback through this module (see
:meth:`AnswerError._render_traceback_`).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Any, Iterable, Iterator

import numpy as np

__all__ = ["AnswerError", "check_type", "check_shape", "check_close", "check_equal", "check_in", "check_answered",
           "trainable_parameters", "check_frozen", "explain_shape_errors"]


class AnswerError(AssertionError):
    """An answer that does not pass a check; the message says what to fix."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback (IPython's documented hook for exceptions).

        The message says what is wrong with the answer; a traceback through the checking code would only bury it.
        Outside IPython (plain Python, pytest) the usual traceback is unchanged.
        """
        red, bold, reset = "\x1b[31m", "\x1b[1m", "\x1b[0m"
        return [f"{red}{bold}AnswerError{reset}: {self}",
                "(a check of your answer failed: fix the answer above and run both cells again)"]


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


def trainable_parameters(model: Any) -> list[tuple[str, int]]:
    """``(name, number of scalars)`` of every trainable weight tensor of a PyTorch module or a Keras model.

    Recognised by what the object offers (``named_parameters`` or ``trainable_weights``), so neither framework is
    imported here.
    """
    if hasattr(model, "named_parameters"):             # torch.nn.Module
        return [(n, int(p.numel())) for n, p in model.named_parameters() if p.requires_grad]
    if hasattr(model, "trainable_weights"):            # keras.Model / keras.layers.Layer
        return [(getattr(w, "path", None) or w.name, int(np.prod(w.shape))) for w in model.trainable_weights]
    raise TypeError(f"expected a PyTorch module or a Keras model, got {type(model).__name__}")


def check_frozen(model: Any, name: str, hint: str = "") -> None:
    """Fail unless no parameter of ``model`` is trainable; the message counts scalars, as ``count_params`` does."""
    left = trainable_parameters(model)
    if left:
        scalars = sum(size for _, size in left)
        raise AnswerError(f"{scalars:,} parameters of `{name}` are still trainable (in {len(left)} weight tensors, "
                          f"e.g. {left[0][0]})." + (f" Hint: {hint}" if hint else ""))


# Messages of PyTorch, Keras/TensorFlow and NumPy when tensor shapes or channel counts do not fit together.
_SHAPE_ERROR = re.compile(r"shape|size mismatch|channels|dimension|cannot be multiplied|incompatible|rank",
                          re.IGNORECASE)
SHAPE_HINT = ("the shapes do not fit together. Check that a new layer takes as many features as the layer before "
              "it puts out (for the EfficientNet base without its top: 1280), and the image layout: PyTorch "
              "expects (batch, channels, height, width), Keras (batch, height, width, channels).")


@contextmanager
def explain_shape_errors(name: str, hint: str = SHAPE_HINT) -> Iterator[None]:
    """Turn a shape or channel error raised inside the block into an :class:`AnswerError` with a hint.

    Used around the call of a student's model in a test cell: ``with checks.explain_shape_errors("build(base, 7)"):
    out = model(x)``. Other errors pass through unchanged.
    """
    try:
        yield
    except AnswerError:
        raise
    except Exception as error:  # noqa: BLE001 - TensorFlow's shape errors are not RuntimeError/ValueError
        text = str(error).strip()
        if not _SHAPE_ERROR.search(text):
            raise
        first = text.splitlines()[0] if text else type(error).__name__
        if len(first) > 300:
            first = first[:297] + "..."
        raise AnswerError(f"`{name}` failed with {type(error).__name__}: {first}\nHint: {hint}") from error
