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
    seeded: bool = False       # the probe takes ``seed``: a number the grader draws afresh for every run
    helpers: str = ""          # source of plain functions the probe calls, defined in its cell (``uses=``)


    @property
    def description(self) -> str:
        return self.what or self.name.replace("_", " ")


def probe(test_grade_id: str, *, rtol: float = 1e-7, atol: float = 0.0, judge: Judge | None = None,
          what: str | None = None, uses: tuple[Callable, ...] = ()) -> Callable[[Callable], Callable]:
    """Mark a function as a probe of the test cell ``test_grade_id`` (used in ``*.probes.py`` files).

    A probe that takes one argument, ``seed``, gets a number the grader draws afresh for every run; its ``judge``
    is then called as ``judge(got, expected, seed)`` and decides from the seed alone what to expect (inputs and
    weights the student cannot predict, the expected behaviour computed in the grader). ``uses``: plain functions
    of the probe file that the probe calls in the kernel (e.g. the one that makes its inputs from the seed, which
    the judge calls too), defined in the probe's cell.
    """
    if rtol < 0 or atol < 0:
        raise ValueError("rtol and atol must be >= 0")

    def mark(function: Callable) -> Callable:
        function.__tl_probe__ = {"test_grade_id": test_grade_id, "rtol": rtol, "atol": atol, "judge": judge,
                                 "what": what, "helpers": "\n\n".join(_helper_source(f) for f in uses)}
        return function

    return mark


def probe_file(notebook: Path) -> Path:
    """The probe file of a source notebook: ``<stem>.probes.py`` beside it."""
    return notebook.with_name(notebook.stem + ".probes.py")


def _undecorated_source(function: Callable) -> tuple[str, bool]:
    """The probe's source without its decorator, and whether it takes the per-run ``seed``."""
    source = textwrap.dedent(inspect.getsource(function))
    tree = ast.parse(source)
    definition = tree.body[0]
    if not isinstance(definition, ast.FunctionDef):
        raise TypeError(f"probe {function.__name__} must be a plain function")
    args = definition.args
    names = [a.arg for a in args.posonlyargs + args.args]
    if args.vararg or args.kwarg or args.kwonlyargs or args.defaults or names not in ([], ["seed"]):
        raise TypeError(f"probe {function.__name__} must take no arguments, or only `seed` (it reads the "
                        "notebook's globals)")
    definition.decorator_list = []
    return ast.unparse(definition), names == ["seed"]


def _helper_source(function: Callable) -> str:
    source = textwrap.dedent(inspect.getsource(function))
    definition = ast.parse(source).body[0]
    if not isinstance(definition, ast.FunctionDef) or definition.decorator_list:
        raise TypeError(f"{function.__name__}: probe helpers must be plain, undecorated functions")
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
        body, seeded = _undecorated_source(function)
        if seeded and meta["judge"] is None:
            raise TypeError(f"probe {name} takes a seed, so its answers differ from run to run: give it a judge "
                            "that computes what to expect from the seed, in the grader (judge(got, expected, seed))")
        probes.append(Probe(name=name, body=body, seeded=seeded, **meta))
    order = {name: i for i, name in enumerate(_definition_order(path))}
    probes.sort(key=lambda p: order.get(p.name, len(order)))
    if not probes:
        raise ValueError(f"{path} defines no @probe functions")
    return probes


def _definition_order(path: Path) -> list[str]:
    return [n.name for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef)]


# The kernel side. Each probe cell is self-contained: it defines its reporter, its serializer and the probe inside
# one function and calls it at once, so nothing of the grader's lives in the notebook's globals between cells (an
# answer cell cannot wrap or replace the reporter, and each probe cell has its own nonce, only in that cell's text:
# only an IPython hook that reads later cells learns it, and can then print forged lines, see the adversarial tests).
# The helpers the reporter uses are bound to locals before any student code runs, so a
# student function called by the probe cannot swap them. What this cannot do, in-process, is keep student code from
# seeing the probe's frame (sys._current_frames, gc) or from patching the interpreter: whatever a cell prints is
# therefore only ever treated as the student's own answer, judged in the grader's process against the key or
# against what the grader computes from the seed it chose (see judge). Probes report only what student code
# returned on the probe's inputs, never a value computed beside it that a judge would trust.
_KERNEL_CELL = '''\
def __tl_cell():
    import builtins as __tl_b, contextlib as __tl_cl, io as __tl_io, json as __tl_json, traceback as __tl_tb
    __tl_print, __tl_dumps, __tl_isinstance, __tl_type = __tl_b.print, __tl_json.dumps, __tl_b.isinstance, type
    __tl_redirect_out, __tl_redirect_err, __tl_buffer = (__tl_cl.redirect_stdout, __tl_cl.redirect_stderr,
                                                          __tl_io.StringIO)
    __tl_format = __tl_tb.format_exception_only

    def __tl_plain(value, depth=0):
        if depth > 20:
            raise ValueError("the answer is nested too deeply")
        if value is None or __tl_isinstance(value, bool):
            return value
        if __tl_isinstance(value, str):
            return str.__str__(value)
        if __tl_isinstance(value, int):
            return int.__index__(value)
        if __tl_isinstance(value, float):
            return float.__float__(value)
        module = __tl_type(value).__module__.split(".")[0]
        if module == "torch":
            value = value.detach().cpu().numpy()
        elif module in ("tensorflow", "keras", "jax", "jaxlib"):
            import numpy as _np
            value = _np.asarray(value)
        if __tl_type(value).__module__.split(".")[0] == "numpy":
            import numpy as _np
            if __tl_isinstance(value, _np.generic):
                return __tl_plain(value.item(), depth + 1)
            if __tl_isinstance(value, _np.ndarray):
                if value.dtype == object or value.size > 1_000_000:
                    raise ValueError("arrays must be numeric and at most 1e6 elements")
                return __tl_plain(value.tolist(), depth + 1)
        if __tl_isinstance(value, (list, tuple)):
            return [__tl_plain(v, depth + 1) for v in value]
        if __tl_isinstance(value, dict):
            return {str(k): __tl_plain(v, depth + 1) for k, v in value.items()}
        raise TypeError(f"a {__tl_type(value).__name__} is not plain data (numbers, strings, lists, dicts)")

PROBE_HELPERS
PROBE_BODY
    try:
        # what the student's code prints while answering is dropped, so it cannot crowd out the answer line
        with __tl_redirect_out(__tl_buffer()), __tl_redirect_err(__tl_buffer()):
            __tl_record = {"ok": True, "value": __tl_plain(PROBE_CALL)}
    except BaseException as error:  # the student's answer may raise anything, SystemExit included
        __tl_record = {"ok": False, "error": "".join(__tl_format(__tl_type(error), error)).strip()[-2000:]}
    __tl_print("NONCE PROBE_NAME " + __tl_dumps(__tl_record, allow_nan=True), flush=True)


__tl_cell()
del __tl_cell
'''


def kernel_prelude() -> str:
    """The first cell of the graded notebook: nothing of the grader's is defined there (each probe cell is
    self-contained, see kernel_call); it only marks where the graded notebook starts."""
    return "# graded by tlhelpers.grading\n"


def kernel_call(probe_: Probe, nonce: str, seed: int | None = None) -> str:
    """The code of one probe cell: define the reporter and the probe, run it (with ``seed`` when it takes one), and
    print its answer on one line tagged with this cell's own ``nonce``."""
    if probe_.seeded and seed is None:
        raise ValueError(f"probe {probe_.name} takes a seed: pass the one the grader drew for this run")
    if not (nonce.isalnum() and probe_.name.isidentifier()):
        raise ValueError("the nonce must be alphanumeric and the probe's name an identifier")
    call = f"{probe_.name}({int(seed)})" if probe_.seeded else f"{probe_.name}()"
    import re

    parts = {"PROBE_HELPERS": textwrap.indent(probe_.helpers, "    "), "PROBE_BODY": textwrap.indent(probe_.body, "    "),
             "PROBE_CALL": call, "NONCE": nonce, "PROBE_NAME": probe_.name}
    # one pass, so that nothing inserted (a probe's text) is itself replaced
    return re.sub("|".join(parts), lambda m: parts[m.group(0)], _KERNEL_CELL)


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


def judge(probe_: Probe, report: dict | None, expected: Any, reveal: bool | None = None,
          seed: int | None = None) -> str | None:
    """None when the student's report passes the probe, else the reason, in words for the feedback.

    A seeded probe's judge is called as ``judge(got, expected, seed)`` with the seed the grader drew for this run
    (never one read back from the kernel). The reason quotes the expected value only when ``reveal`` (default:
    :func:`reveal_expected`).
    """
    if report is None:
        return f"{probe_.description}: no answer came back (the notebook stopped before this check ran)"
    if not report["ok"]:
        return f"{probe_.description}: {report.get('error', 'an error')}"
    if probe_.seeded and seed is None:
        raise ValueError(f"probe {probe_.name} takes a seed; the grader must pass the one it drew for the run")
    if probe_.judge is not None:
        try:
            if probe_.seeded:
                message = probe_.judge(report.get("value"), expected, seed)
            else:
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
