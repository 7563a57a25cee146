"""Grading probes: instructor-written functions run in the student's kernel that return plain data.

A probe file sits beside each source notebook (``solutions/<assignment>/<stem>.probes.py``; nbgrader does not
release it). Each ``@probe``-decorated function names the test cell it scores; its *body* is sent to the
student's kernel after that test cell and its return value comes back as JSON. The expected value is the same
probe's value on the solution notebook; :func:`compare` (or the probe's ``judge``) decides in the grader's process.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from tlhelpers.grading.limits import MAX_PROBE_OUTPUT_CHARS

Judge = Callable[[Any, Any], "str | None"]
SHOW_EXPECTED_VARIABLE = "TLHELPERS_FEEDBACK_SHOW_EXPECTED"


@dataclass(frozen=True)
class Probe:
    """One probe: the test cell it scores, the code sent to the kernel, and how its answer is judged."""

    name: str
    test_grade_id: str
    body: str                  # source of the function definition, undecorated, run in the kernel
    rtol: float = 1e-7
    atol: float = 0.0
    judge: Judge | None = field(default=None, compare=False)
    what: str | None = None

    @property
    def description(self) -> str:
        return self.what or self.name.replace("_", " ")


def probe(test_grade_id: str, *, rtol: float = 1e-7, atol: float = 0.0, judge: Judge | None = None,
          what: str | None = None) -> Callable[[Callable], Callable]:
    """Mark a function as a probe of the test cell ``test_grade_id`` (used in ``*.probes.py`` files)."""
    if rtol < 0 or atol < 0:
        raise ValueError("rtol and atol must be >= 0")

    def mark(function: Callable) -> Callable:
        function.__tl_probe__ = {"test_grade_id": test_grade_id, "rtol": rtol, "atol": atol, "judge": judge,
                                 "what": what}
        return function

    return mark


def probe_file(notebook: Path) -> Path:
    """The probe file of a source notebook: ``<stem>.probes.py`` beside it."""
    return notebook.with_name(notebook.stem + ".probes.py")


def _undecorated_source(function: Callable) -> str:
    source = textwrap.dedent(inspect.getsource(function))
    tree = ast.parse(source)
    definition = tree.body[0]
    if not isinstance(definition, ast.FunctionDef):
        raise TypeError(f"probe {function.__name__} must be a plain function")
    if definition.args.args or definition.args.vararg or definition.args.kwarg or definition.args.kwonlyargs:
        raise TypeError(f"probe {function.__name__} must take no arguments (it reads the notebook's globals)")
    definition.decorator_list = []
    return ast.unparse(definition)


def load_probes(path: Path) -> list[Probe]:
    """The probes of a probe file, in file order. The file is instructor code and is imported here (trusted)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no probe file {path}: every graded notebook needs one (see tlhelpers/grading)")
    spec = importlib.util.spec_from_file_location(f"_tl_probes_{path.stem.replace('.', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    probes = []
    for name, function in vars(module).items():
        meta = getattr(function, "__tl_probe__", None)
        if meta is None or not inspect.isfunction(function):
            continue
        probes.append(Probe(name=name, body=_undecorated_source(function), **meta))
    order = {name: i for i, name in enumerate(_definition_order(path))}
    probes.sort(key=lambda p: order.get(p.name, len(order)))
    if not probes:
        raise ValueError(f"{path} defines no @probe functions")
    return probes


def _definition_order(path: Path) -> list[str]:
    return [n.name for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef)]


# The kernel side. This text is sent into the student's kernel, so it may not rely on anything there: it imports
# what it needs itself. It cannot be protected from a student who patches the interpreter, and it does not need to
# be: whatever it prints is only the student's own answer, which the grader judges against values the kernel never
# sees.
_KERNEL_TEMPLATE = '''\
def __tl_plain(value, depth=0):
    import math as _m
    if depth > 20:
        raise ValueError("the answer is nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value if not isinstance(value, str) else str.__str__(value)
    if isinstance(value, int):
        return int.__index__(value)
    if isinstance(value, float):
        return float.__float__(value)
    module = type(value).__module__.split(".")[0]
    if module == "torch":
        value = value.detach().cpu().numpy()
    elif module in ("tensorflow", "keras", "jax", "jaxlib"):
        import numpy as _np
        value = _np.asarray(value)
    if type(value).__module__.split(".")[0] == "numpy":
        import numpy as _np
        if isinstance(value, _np.generic):
            return __tl_plain(value.item(), depth + 1)
        if isinstance(value, _np.ndarray):
            if value.dtype == object or value.size > 1_000_000:
                raise ValueError("arrays must be numeric and at most 1e6 elements")
            return __tl_plain(value.tolist(), depth + 1)
    if isinstance(value, (list, tuple)):
        return [__tl_plain(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {str(k): __tl_plain(v, depth + 1) for k, v in value.items()}
    raise TypeError(f"a {type(value).__name__} is not plain data (numbers, strings, lists, dicts)")


def __tl_report(name, function):
    import contextlib as _cl, io as _io, json as _json, traceback as _tb
    try:
        # what the student's code prints while answering is dropped, so it cannot crowd out the answer line
        with _cl.redirect_stdout(_io.StringIO()), _cl.redirect_stderr(_io.StringIO()):
            record = {"ok": True, "value": __tl_plain(function())}
    except BaseException as error:  # the student's answer may raise anything, SystemExit included
        lines = _tb.format_exception_only(type(error), error)
        record = {"ok": False, "error": "".join(lines).strip()[-2000:]}
    print("NONCE " + name + " " + _json.dumps(record, allow_nan=True), flush=True)
'''


def kernel_prelude(nonce: str) -> str:
    """Code that defines the serializer and the reporter in the kernel (runs once, before the notebook)."""
    return _KERNEL_TEMPLATE.replace("NONCE", nonce)


def kernel_call(probe_: Probe) -> str:
    """The code of one probe cell: define the probe, run it, print its answer on a line tagged with the nonce."""
    return f"{probe_.body}\n\n__tl_report({probe_.name!r}, {probe_.name})\ndel {probe_.name}\n"


def parse_report(text: str, nonce: str, name: str, max_chars: int = MAX_PROBE_OUTPUT_CHARS) -> dict | None:
    """The last answer line for probe ``name`` in a cell's printed text, or None. Untrusted input: parsed, not run."""
    import json

    prefix = f"{nonce} {name} "
    found = None
    for line in text.splitlines():
        if line.startswith(prefix) and len(line) <= max_chars:
            try:
                record = json.loads(line[len(prefix):])
            except (ValueError, RecursionError):
                continue
            if isinstance(record, dict) and isinstance(record.get("ok"), bool):
                found = record
    return found


def compare(got: Any, expected: Any, rtol: float = 1e-7, atol: float = 0.0, path: str = "answer",
            reveal: bool = True) -> str | None:
    """None when ``got`` matches ``expected`` (plain data), else a sentence saying where and how it differs.

    Numbers compare within ``atol + rtol * |expected|`` (NaN equals NaN); bools, strings and None exactly; lists by
    length and element; dicts by keys and value. With ``reveal`` false the sentence quotes only the student's own
    answer, never a value, length or key taken from ``expected``.
    """
    def differs(shown_got: str, shown_expected: str) -> str:
        return f"{path} is {shown_got}, expected {shown_expected}" if reveal \
            else f"{path} is {shown_got}, not the expected value"

    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        if type(got) is not type(expected) or got != expected:
            return differs(_short(got), _short(expected))
        return None
    if isinstance(expected, (int, float)):
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return f"{path} should be a number, got {_short(got)}"
        if math.isnan(expected) or math.isnan(got):
            return None if math.isnan(expected) and math.isnan(got) else differs(repr(got), repr(expected))
        if math.isinf(expected) or math.isinf(got):
            return None if got == expected else differs(repr(got), repr(expected))
        if abs(got - expected) > atol + rtol * abs(expected):
            if isinstance(got, int) and isinstance(expected, int):
                return differs(_short(got), str(expected))
            return differs(f"{got:.6g}", f"{expected:.6g}")
        return None
    if isinstance(expected, list):
        if not isinstance(got, list):
            return f"{path} should be a list/array, got {_short(got)}"
        if len(got) != len(expected):
            return f"{path} has length {len(got)}, " + (f"expected {len(expected)}" if reveal
                                                         else "not the expected length")
        for i, (g, e) in enumerate(zip(got, expected)):
            message = compare(g, e, rtol, atol, f"{path}[{i}]", reveal)
            if message:
                return message
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{path} should be a dict, got {_short(got)}"
        if set(got) != set(expected):
            missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
            if reveal:
                return f"{path} has keys missing {missing} and extra {extra}"
            return f"{path} has keys that are not expected: {_short(extra)}" if extra \
                else f"{path} lacks {len(missing)} of the expected keys"
        for key in expected:
            message = compare(got[key], expected[key], rtol, atol, f"{path}[{key!r}]", reveal)
            if message:
                return message
        return None
    raise TypeError(f"expected value of unsupported type {type(expected).__name__}")


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def judge(probe_: Probe, report: dict | None, expected: Any, reveal: bool | None = None) -> str | None:
    """None when the student's report passes the probe, else the reason, in words for the feedback.

    The reason quotes the expected value only when ``reveal`` (default: :func:`reveal_expected`).
    """
    if report is None:
        return f"{probe_.description}: no answer came back (the notebook stopped before this check ran)"
    if not report["ok"]:
        return f"{probe_.description}: {report.get('error', 'an error')}"
    if probe_.judge is not None:
        try:
            message = probe_.judge(report.get("value"), expected)
        except Exception as error:  # a malformed answer must not crash the grader; it fails the probe
            message = f"the answer has the wrong form ({type(error).__name__})"
    else:
        try:
            message = compare(report.get("value"), expected, probe_.rtol, probe_.atol,
                              reveal=reveal_expected() if reveal is None else reveal)
        except (OverflowError, ValueError, TypeError, RecursionError) as error:
            # e.g. 10**400 against a float: no number the grader can compare, so no points
            message = f"the answer could not be compared with the expected one ({type(error).__name__})"
    return f"{probe_.description}: {message}" if message else None


def reveal_expected() -> bool:
    """Whether feedback may quote the key's expected values (``TLHELPERS_FEEDBACK_SHOW_EXPECTED=1``; default no).

    Probe inputs are not secret (the probe code is readable inside the sandbox), but the expected answers on them
    are the key: a student who may resubmit would learn them from the feedback.
    """
    import os

    return os.environ.get(SHOW_EXPECTED_VARIABLE, "") == "1"
