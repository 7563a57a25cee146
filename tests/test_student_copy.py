"""The student's copy holds what the README lists and nothing of the instructor's; `make lab` hides nbgrader's
instructor tools (Formgrader, Create Assignment, Courses) while `make lab-instructor` keeps them."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from lab_server import REPO_ROOT, copy_course, make_lab
from tlhelpers import student_copy

# Looked for independently of tlhelpers.student_copy's own list, in every file of the copy.
FORBIDDEN_TEXT = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "@probe(",
                  "from tlhelpers.grading", "import tlhelpers.grading", "answer_key")
FORBIDDEN_PATHS = ("solutions", "tests", "build", "benchmarks", ".ci", ".github", "tlhelpers/grading")
INSTRUCTOR_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list")


def readme_listing() -> list[str]:
    """The paths the README's "The student's copy" table lists, in order."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("### The student's copy", 1)[1].split("\n#", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", section, re.M)


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("student") / "copy"
    student_copy.make_student_copy(dest)
    return dest


def test_the_copy_holds_exactly_what_the_readme_lists(copy):
    listed = readme_listing()
    assert listed == [pattern for pattern, _ in student_copy.CONTENTS], \
        "the README's table and tlhelpers.student_copy.CONTENTS must list the same paths"
    files = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file())
    unlisted = [f for f in files if not any(fnmatch.fnmatchcase(f, p.replace("**", "*")) for p in listed)]
    assert not unlisted, f"files in the copy that the README does not list: {unlisted}"
    for pattern in listed:
        assert any(fnmatch.fnmatchcase(f, pattern.replace("**", "*")) for f in files), f"nothing matches {pattern}"
    # Every released notebook is there, byte for byte, and nothing else under notebooks/.
    released = sorted(p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "notebooks").glob("*/*.ipynb"))
    assert [f for f in files if f.startswith("notebooks/")] == released
    for name in released:
        assert (copy / name).read_bytes() == (REPO_ROOT / name).read_bytes(), f"{name} differs from the release"


def test_no_file_of_the_copy_holds_instructor_material(copy):
    for forbidden in FORBIDDEN_PATHS:
        assert not (copy / forbidden).exists(), f"{forbidden} must not be in the student's copy"
    found = []
    for path in copy.rglob("*"):
        if path.is_file():
            assert not path.name.endswith(".probes.py"), f"{path} is a probe file"
            text = path.read_bytes().decode("utf-8", errors="replace")
            found += [f"{path.relative_to(copy)}: {m}" for m in FORBIDDEN_TEXT if m in text]
    assert not found, f"instructor material in the student's copy: {found}"
    # The solutions really do hold these markers, so the scan above can fail.
    solution = (REPO_ROOT / "solutions" / "01_domains_and_tasks" / "domains_and_tasks.ipynb").read_text()
    assert "BEGIN SOLUTION" in solution and "BEGIN HIDDEN TESTS" in solution


def test_the_copy_is_a_working_course(copy):
    """Its Makefile has the student's targets and the course's `lab` rule; its README is the student guide."""
    makefile = (copy / "Makefile").read_text()
    assert student_copy.lab_target((REPO_ROOT / "Makefile").read_text()) in makefile
    for target in ("setup", "lab"):
        assert re.search(rf"^{target}:", makefile, re.M)
    for target in ("release", "autograde", "collect", "reference", "student-copy"):
        assert not re.search(rf"^{target}:", makefile, re.M), f"the student Makefile has `{target}`"
    readme = (copy / "README.md").read_text()
    assert "## For students" in readme and "## For instructors" not in readme
    for shown in re.findall(r"\((assets/screenshots/[\w-]+\.png)\)", readme):
        assert (copy / shown).is_file(), f"the README shows {shown}, missing from the copy"


def test_the_copy_refuses_a_leak_and_an_existing_folder(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    for name in ("README.md", "Makefile", "pyproject.toml", "environment.yml", "nbgrader_config.py"):
        shutil.copy(REPO_ROOT / name, course / name)
    shutil.copytree(REPO_ROOT / "tlhelpers", course / "tlhelpers", ignore=shutil.ignore_patterns("__pycache__"))
    leaky = course / "notebooks" / "01_x" / "x.ipynb"
    leaky.parent.mkdir(parents=True)
    leaky.write_text('{"cells": [{"source": "### BEGIN HIDDEN TESTS"}]}')
    with pytest.raises(RuntimeError, match="leak"):
        student_copy.make_student_copy(tmp_path / "out", root=course)
    assert not (tmp_path / "out").exists(), "a refused copy must leave nothing behind"
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        student_copy.make_student_copy(tmp_path / "full", root=course)
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


def _get(url: str, token: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, ""


def lab_extensions(server) -> tuple[dict, dict[str, int]]:
    """The page config JupyterLab sends the browser, and the HTTP status of nbgrader's server endpoints."""
    status, page = _get(server.url + "lab", server.token)
    assert status == 200, f"/lab answered {status}"
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                  page, re.S).group(1))
    endpoints = {path: _get(server.url + path, server.token)[0]
                 for path in ("formgrader", "formgraders", "assignments?course_id=transfer-learning")}
    return config, endpoints


@pytest.mark.slow
def test_make_lab_hides_instructor_tools_and_lab_instructor_keeps_them(tmp_path):
    course = copy_course(tmp_path, ["01_domains_and_tasks"])
    with make_lab(course, tmp_path / "student") as server:
        config, endpoints = lab_extensions(server)
    disabled = config.get("disabledExtensions", [])
    for plugin in INSTRUCTOR_PLUGINS:
        assert plugin in disabled, f"`make lab` should disable {plugin}; disabled: {disabled}"
    assert "@jupyter/nbgrader:assignment-list" not in disabled and "@jupyter/nbgrader:validate-assignment" \
        not in disabled, "students keep the Assignment List and Validate"
    assert endpoints["formgrader"] == 404 and endpoints["formgraders"] == 404, endpoints
    assert endpoints["assignments?course_id=transfer-learning"] == 200, endpoints

    with make_lab(course, tmp_path / "instructor", target="lab-instructor") as server:
        config, endpoints = lab_extensions(server)
    disabled = config.get("disabledExtensions", [])
    assert not [p for p in INSTRUCTOR_PLUGINS if p in disabled], f"the instructor's lab disables {disabled}"
    assert endpoints["formgrader"] == 200, endpoints
