"""Shared fixtures and helpers of the test suite.

- the repository root, a private cache folder per test;
- ``skip_or_fail``: a test whose tools are missing is skipped here, and fails on CI (CI=true), so CI cannot skip it;
- ``wait_until_answers`` / ``log_tail``: the start-up boilerplate of the servers the browser tests run;
- ``toy_course``: a copy of one toy nbgrader course (release, gradebook, answer key) built once per worker;
- the order of the run: the longest tests first (``tests/durations.json``), handed to pytest-xdist's workers one
  unit at a time so that they finish together; each full run writes what every test took to
  ``build/test-durations.json`` (refresh the table from it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DURATIONS = Path(__file__).with_name("durations.json")
RECORDED_DURATIONS = REPO_ROOT / "build" / "test-durations.json"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def private_cache(tmp_path, monkeypatch) -> Path:
    """Point the course cache at an empty temporary folder for one test."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("TLHELPERS_CACHE", str(cache))
    return cache


# --- tools a test needs: skipped on a developer's machine, an error on CI -------------------------------------------

def on_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def skip_or_fail(message: str) -> None:
    """Skip the calling test with ``message``; on CI (CI=true) fail instead, so that CI never skips it silently."""
    if on_ci():
        pytest.fail(message + "; CI=true, so it must run here", pytrace=False)
    pytest.skip(message)


def require(what: str, missing: list[str]) -> None:
    """``skip_or_fail`` with "<what> needs A and B" when ``missing`` names anything."""
    if missing:
        skip_or_fail(f"{what} needs " + " and ".join(missing))


@pytest.fixture
def grading_sandbox() -> None:
    """The grader's bubblewrap sandbox must be installed (skipped without it here, an error on CI)."""
    require("the grading sandbox", [] if Path("/usr/bin/bwrap").exists() else
            ["bubblewrap (make grading-setup, or apt-get install bubblewrap)"])


# --- servers started by tests (JupyterLab, JupyterHub) --------------------------------------------------------------

def log_tail(log: Path, chars: int = 6000) -> str:
    """The end of a server's log, for failure messages."""
    try:
        return Path(log).read_text(errors="replace")[-chars:]
    except OSError as err:
        return f"(no log: {err})"


def wait_until_answers(url: str, process: subprocess.Popen, log: Path, timeout: float, what: str,
                       headers: dict[str, str] | None = None, poll: float = 0.25) -> None:
    """Poll ``url`` until it answers 200; fail with the log's end when ``process`` exits first or time runs out."""
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers=headers or {})
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before answering:\n{log_tail(log)}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(poll)
    raise RuntimeError(f"{what} did not answer within {timeout:.0f} s:\n{log_tail(log)}")


# --- one toy course per worker ---------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def toy_course_template(tmp_path_factory) -> Path:
    """The toy course (tests/grading_toy.py) released by nbgrader into a SQLite gradebook, with its answer key
    computed when the sandbox can run; built once per worker and copied by ``toy_course``."""
    from grading_toy import ASSIGNMENT, make_toy_course

    saved = os.environ.pop("TLHELPERS_GRADEBOOK_URL", None)   # the template's gradebook is its own SQLite file
    try:
        course = make_toy_course(tmp_path_factory.mktemp("toy-template"))
    finally:
        if saved is not None:
            os.environ["TLHELPERS_GRADEBOOK_URL"] = saved
    try:
        from tlhelpers.grading import sandbox
        from tlhelpers.grading.runner import answer_keys

        answer_keys(course, ASSIGNMENT, sandbox.Limits())   # cached under build/grading/keys, by content
    except Exception:  # noqa: BLE001 - no sandbox here: each test computes (or skips) it and reports the reason
        pass
    return course


@pytest.fixture
def toy_course(toy_course_template, tmp_path, monkeypatch) -> Path:
    """A fresh copy of the toy course for one test (its own submissions, gradebook and feedback)."""
    monkeypatch.delenv("TLHELPERS_GRADEBOOK_URL", raising=False)
    return Path(shutil.copytree(toy_course_template, tmp_path / "toycourse"))


# --- the order of the run --------------------------------------------------------------------------------------------

def _table() -> tuple[dict[str, float], dict[str, float]]:
    data = json.loads(DURATIONS.read_text()) if DURATIONS.is_file() else {}
    return data.get("tests", {}), data.get("files", {})


def _unit(nodeid: str, tests: dict[str, float]) -> str:
    """A test listed under "tests" is a unit of its own; any other runs with the rest of its module."""
    return nodeid if nodeid in tests else nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(config, items):
    """Longest first, so that the workers finish together.

    A test listed under "tests" in tests/durations.json is its own unit; every other test is part of its module's
    unit (so that a module's fixtures are built on one worker only), costed at the module's figure under "files".
    Units run longest first; ties keep the collection order, and a module's tests stay together in their order.
    """
    tests, files = _table()
    first_seen: dict[str, int] = {}
    for index, item in enumerate(items):
        first_seen.setdefault(_unit(item.nodeid, tests), index)
    order = {id(item): index for index, item in enumerate(items)}

    def key(item):
        unit = _unit(item.nodeid, tests)
        return (-(tests.get(unit) if unit in tests else files.get(unit, 0.0)), first_seen[unit], order[id(item)])

    items.sort(key=key)


@pytest.hookimpl(optionalhook=True)      # an xdist hook: pytest without xdist never calls it
def pytest_xdist_make_scheduler(config, log):
    """With ``-n`` (xdist's default ``--dist load``): hand out the units above, in that order, each to the next free
    worker. (xdist's own ``--dist loadgroup`` would group by marks, but pytest 9 ignores the node ids xdist 3.8
    rewrites for it, so the grouping is done here.) An explicit other ``--dist`` keeps xdist's scheduler."""
    if config.getoption("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    tests, _ = _table()
    config.option.loadscopereorder = False     # keep the collection's (longest-first) order

    class LongestFirst(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _unit(nodeid, tests)

    return LongestFirst(config, log)


_seconds: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    """Collect set-up, call and teardown time per test (on the controller too: xdist forwards the reports)."""
    _seconds[report.nodeid.split("@", 1)[0]] += report.duration


def pytest_sessionfinish(session):
    """Write build/test-durations.json (per test and per file) after a run of the whole suite in workers.

    Only the controller writes (not each xdist worker), and only after a run of the whole suite (no -m or -k, at
    least 100 tests), so a developer's partial run does not overwrite it. Refresh tests/durations.json from it.
    """
    option = session.config.option
    if hasattr(session.config, "workerinput") or len(_seconds) < 100 or option.markexpr or option.keyword:
        return
    per_file: dict[str, float] = defaultdict(float)
    for nodeid, seconds in _seconds.items():
        per_file[nodeid.split("::", 1)[0]] += seconds
    RECORDED_DURATIONS.parent.mkdir(parents=True, exist_ok=True)
    RECORDED_DURATIONS.write_text(json.dumps(
        {"tests": {k: round(v, 1) for k, v in sorted(_seconds.items(), key=lambda kv: -kv[1]) if v >= 20},
         "files": {k: round(v, 1) for k, v in sorted(per_file.items(), key=lambda kv: -kv[1])}}, indent=1) + "\n")
