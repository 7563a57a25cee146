"""The student's JupyterLab, in a real browser: `make lab` on a copy of the course, driven by Playwright in Debian's
chromium.

The student opens the Assignments panel, opens assignment 01's release notebook from it, types the answers
(the solution code) into the exercise cells, runs all cells and sees the visible tests pass, and clicks nbgrader's
Validate button and sees it pass; then writes one wrong answer, sees the visible test's message say what is wrong,
and sees Validate fail with that message. Each step is saved as build/screenshots/<step>.png (a failure adds
failure.png); the README shows two of them, copied to assets/screenshots/.

Answers go in the way a student pastes code: a click into the cell's editor, select all, then the text inserted
at the cursor (Playwright's ``keyboard.insert_text``; typing key by key would meet the editor's auto-indent and
bracket closing). The saved notebook is then read back to check that the cells hold exactly those answers.

The notebook runs in the `smoke` profile (TLHELPERS_PROFILE in the server's environment) to stay fast.
Needs /usr/bin/chromium (apt) and the `playwright` package (the `dev` extra); no browser is downloaded. Where
either is missing the test is skipped, except on CI (CI=true), where it fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat
import pytest

from conftest import require
from lab_server import REPO_ROOT, LabServer, copy_course, make_lab

from tlhelpers.layout import CourseLayout

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags chromium keeps trying to reach Google's services, which a closed
# network refuses; the rest keep a headless run quiet and deterministic. --no-sandbox: CI runs as root in a
# container; --disable-dev-shm-usage: a container's /dev/shm is often 64 MB, too small for JupyterLab's page.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
VIEWPORT = {"width": 1366, "height": 850}
ASSIGNMENT = "01_domains_and_tasks"
NOTEBOOK = "domains_and_tasks.ipynb"
SCREENSHOTS = CourseLayout(REPO_ROOT).screenshots()
# The steps, in order, each with the screenshot it leaves and what that screenshot shows.
STEPS = {
    "01_assignment_list": "the Assignments panel lists 01_domains_and_tasks with its notebook and a Validate button",
    "02_notebook_open": "the release notebook, opened from the panel; the course kernel is idle",
    "03_answer_typed": "exercise 1's answer typed into its cell",
    "04_visible_tests_passed": "after Run All Cells: exercise 1's test cell prints that its visible tests passed",
    "05_validate_passed": "Validate: 'Success! Your notebook passes all the tests.'",
    "06_wrong_answer_message": "a wrong answer to exercise 1: its test cell says what is wrong, with a hint",
    "07_validate_failed": "Validate with the wrong answer: the failing test cell and the same message",
}
# A plausible slip in exercise 1: the proxy A-distance without its factor 2 (and without the clip).
WRONG_ANSWER = {
    "grade_id": "pad_from_error",
    "source": "def proxy_a_distance_from_error(err):\n    return float(1.0 - 2.0 * err)",
    "message": "`proxy_a_distance_from_error(0.0)` is not right: got 1, expected 2.",
    "hint": "Hint: a domain classifier that never errs means the domains are as far apart as can be: 2",
}
RUN_TIMEOUT_MS = 240_000     # Run All Cells in the smoke profile: ~20 s on an idle 2-core machine
VALIDATE_TIMEOUT_MS = 300_000  # Validate re-runs the whole notebook in a fresh kernel


def require_browser() -> None:
    """Skip when chromium or playwright is missing; on CI (CI=true) fail instead, so CI cannot skip it."""
    missing = []
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"{CHROMIUM} (sudo apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the Python package playwright (pip install -e '.[dev]'; never `playwright install`)")
    require("the browser test", missing)


def student_answers(release: nbformat.NotebookNode, solution: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id -> what a student writes in that answer cell: the solution cell without nbgrader's markers."""
    answers = {}
    for cell in solution.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            lines = [line for line in cell.source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
            answers[meta["grade_id"]] = "\n".join(lines)
    released = [c.metadata["nbgrader"]["grade_id"] for c in release.cells
                if c.metadata.get("nbgrader", {}).get("solution")]
    assert list(answers) == released, f"answer cells differ: solution {list(answers)}, release {released}"
    return answers


def cell_indices(nb: nbformat.NotebookNode) -> dict[str, int]:
    """grade_id -> position of that cell in the notebook (the page shows the cells in the same order)."""
    return {c.metadata["nbgrader"]["grade_id"]: i for i, c in enumerate(nb.cells) if "nbgrader" in c.metadata}


class Student:
    """The student's hands on the page: menus, the Assignments panel, cell editors, the Validate button."""

    def __init__(self, page, server: LabServer, started: float) -> None:
        self.page = page
        self.server = server
        self.notebook = page.locator(".jp-NotebookPanel")
        self.timings: dict[str, float] = {}  # step -> seconds since ``started`` (time.monotonic())
        self._started = started

    def shot(self, step: str, show=None) -> None:
        """Save build/screenshots/<step>.png, with ``show`` (a locator) scrolled to the middle of the view."""
        if show is not None:
            show.evaluate("el => el.scrollIntoView({block: 'center'})")
            self.page.wait_for_timeout(300)  # let the scroll and any re-render settle
        self.page.screenshot(path=str(SCREENSHOTS / f"{step}.png"))
        self.timings[step] = round(time.monotonic() - self._started, 1)

    def cell(self, index: int):
        return self.notebook.locator(".jp-Notebook .jp-Cell").nth(index)

    def cell_text(self, index: int, part: str = ".jp-Cell-inputWrapper") -> str:
        """The text of a cell's input (or ``part``), scrolled into view first: JupyterLab renders cells lazily."""
        cell = self.cell(index)
        cell.evaluate("el => el.scrollIntoView({block: 'center'})")
        return cell.locator(part).first.text_content() or ""

    def open_lab(self) -> None:
        self.page.goto(f"{self.server.url}lab?token={self.server.token}")
        self.page.locator("#jp-main-dock-panel").wait_for(timeout=90_000)
        self.page.locator("#jp-MainMenu").get_by_text("Nbgrader", exact=True).wait_for(timeout=60_000)

    def open_assignment_list(self) -> None:
        self.page.locator("#jp-MainMenu").get_by_text("Nbgrader", exact=True).click()
        self.page.get_by_text("Assignment List", exact=True).click()
        fetched = self.page.locator("#fetched_assignments_list")
        fetched.locator(".list_item", has_text=ASSIGNMENT).first.wait_for(timeout=60_000)
        fetched.locator(".assignment-notebooks-link", has_text=ASSIGNMENT).click()
        fetched.locator(".nested_list_item", has_text=Path(NOTEBOOK).stem).wait_for()

    def open_notebook_from_list(self, n_cells: int) -> None:
        """Click the notebook's name in the Assignments panel; wait for its cells and an idle Python kernel."""
        nested = self.page.locator("#fetched_assignments_list .nested_list_item", has_text=Path(NOTEBOOK).stem)
        nested.get_by_text(Path(NOTEBOOK).stem, exact=True).click()
        self.page.wait_for_function(
            """n => {
                const panel = document.querySelector('.jp-NotebookPanel');
                if (!panel) return false;
                const kernel = panel.querySelector('.jp-KernelName');
                const idle = panel.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']");
                return panel.querySelectorAll('.jp-Notebook .jp-Cell').length === n && idle
                    && kernel && kernel.textContent.includes('Python');
            }""", arg=n_cells, timeout=120_000, polling=250)

    def write_cell(self, index: int, text: str) -> None:
        """Click into the cell's editor, select everything and put ``text`` there, as a paste would."""
        editor = self.cell(index).locator(".cm-content")
        editor.click()
        self.page.keyboard.press("Control+a")
        self.page.keyboard.insert_text(text)

    def run_all(self) -> None:
        """Run > Run All Cells, then wait until no cell is queued or running and the kernel is idle."""
        self.page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
        self.page.get_by_text("Run All Cells", exact=True).click()
        self.page.wait_for_function(
            """() => {
                const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputArea-prompt')];
                const text = prompts.map(p => p.textContent);
                const idle = document.querySelector(
                    ".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']");
                return idle && text.some(t => /\\[\\d+\\]/.test(t)) && !text.some(t => t.includes('*'));
            }""", timeout=RUN_TIMEOUT_MS, polling=500)

    def save(self) -> None:
        """File > Save Notebook, then wait until the tab is no longer marked as changed."""
        self.page.locator("#jp-MainMenu").get_by_text("File", exact=True).click()
        self.page.get_by_text("Save Notebook", exact=True).first.click()
        self.page.wait_for_function(
            "() => !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')", timeout=30_000)

    def validate(self) -> tuple[str, str]:
        """Click the notebook toolbar's Validate button; return the result dialog's class list and text."""
        self.notebook.locator(".validate-button").click()
        message = self.page.locator(".jp-Dialog #validation-message")
        message.wait_for(timeout=VALIDATE_TIMEOUT_MS)
        return message.get_attribute("class") or "", message.inner_text()

    def close_dialog(self) -> None:
        self.page.locator(".jp-Dialog .jp-mod-accept").click()
        self.page.locator(".jp-Dialog").wait_for(state="detached")


@pytest.mark.slow
@pytest.mark.browser
def test_student_works_through_assignment_01_in_jupyterlab(tmp_path):
    require_browser()
    from playwright.sync_api import sync_playwright

    course = copy_course(tmp_path, [ASSIGNMENT])
    release_path = course / "notebooks" / ASSIGNMENT / NOTEBOOK
    release = nbformat.read(release_path, as_version=4)
    answers = student_answers(release, nbformat.read(course / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4))
    where = cell_indices(release)
    tests_of = {gid: gid + "_tests" for gid in answers}
    assert all(t in where for t in tests_of.values()), "every answer needs a test cell named <grade_id>_tests"
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    browser_errors: list[str] = []
    step = "starting JupyterLab"
    started = time.monotonic()

    with make_lab(course, tmp_path / "lab", env={"TLHELPERS_PROFILE": "smoke"}) as server, sync_playwright() as pw:
        server_ready = time.monotonic() - started
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = None
        try:
            page = browser.new_context(viewport=VIEWPORT).new_page()
            page.on("pageerror", lambda err: browser_errors.append(str(err)))
            student = Student(page, server, started)

            step = "01_assignment_list"
            student.open_lab()
            student.open_assignment_list()
            student.shot(step)

            step = "02_notebook_open"
            student.open_notebook_from_list(len(release.cells))
            kernel = student.notebook.locator(".jp-KernelName").inner_text()
            assert "Python 3" in kernel, f"the notebook's kernel is {kernel!r}"
            first = next(iter(answers))
            stub = student.cell_text(where[first])
            assert "YOUR CODE HERE" in stub, f"exercise cell {first} is not the release's stub:\n{stub}"
            student.shot(step, show=student.cell(where[first]))

            step = "03_answer_typed"
            for grade_id, text in answers.items():
                student.write_cell(where[grade_id], text)
            student.shot(step, show=student.cell(where[first]))

            step = "04_visible_tests_passed"
            student.run_all()
            for grade_id, test_id in tests_of.items():
                output = student.cell_text(where[test_id], ".jp-OutputArea")
                assert "visible tests passed" in output, f"{test_id} after Run All shows:\n{output}"
            student.save()
            saved = nbformat.read(release_path, as_version=4)
            for grade_id, text in answers.items():
                got = saved.cells[where[grade_id]].source
                assert got == text, f"cell {grade_id} holds\n{got}\ninstead of the typed answer\n{text}"
            errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(saved.cells)
                      for o in c.get("outputs", []) if o.get("output_type") == "error"]
            assert not errors, f"cells raised after Run All: {errors}"
            student.shot(step, show=student.cell(where[tests_of[first]]))

            step = "05_validate_passed"
            classes, text = student.validate()
            assert "validation-success" in classes and "passes all the tests" in text, f"Validate said:\n{text}"
            student.shot(step)
            student.close_dialog()

            step = "06_wrong_answer_message"
            wrong = WRONG_ANSWER["grade_id"]
            student.write_cell(where[wrong], WRONG_ANSWER["source"])
            page.keyboard.press("Shift+Enter")  # run the answer cell; the test cell below is selected
            page.keyboard.press("Shift+Enter")  # run the test cell
            failure = student.cell(where[tests_of[wrong]]).locator(".jp-OutputArea")
            failure.get_by_text("AnswerError").first.wait_for(timeout=60_000)
            shown = student.cell_text(where[tests_of[wrong]], ".jp-OutputArea")
            for part in (WRONG_ANSWER["message"], WRONG_ANSWER["hint"]):
                assert part in shown, f"the failing test cell should say {part!r}; it shows:\n{shown}"
            student.shot(step, show=student.cell(where[tests_of[wrong]]))

            step = "07_validate_failed"
            classes, text = student.validate()
            assert "validation-failed" in classes, f"Validate should fail with the wrong answer; it said:\n{text}"
            assert "The following cell failed" in text and WRONG_ANSWER["message"] in text, \
                f"Validate's message does not say what is wrong:\n{text}"
            # The dialog scrolls; show its end, where the message is, as a student would scroll to it.
            page.locator(".jp-Dialog-body").evaluate(
                "el => [el, ...el.querySelectorAll('*')].forEach(e => { e.scrollTop = e.scrollHeight; })")
            student.shot(step)
            student.close_dialog()
            step = "done"
        except Exception as err:
            try:
                if page is not None:
                    page.screenshot(path=str(SCREENSHOTS / "failure.png"))
            except Exception:  # noqa: BLE001 - the page may be gone; the original error matters
                pass
            raise AssertionError(
                f"step {step} failed ({time.monotonic() - started:.0f} s in): {err}\n"
                f"browser errors: {browser_errors or 'none'}\n"
                f"screenshots so far in {SCREENSHOTS}\n"
                f"--- end of the JupyterLab log ({server.log}) ---\n{server.log_tail()}") from err
        finally:
            browser.close()
            browser_done = time.monotonic() - started

    timings = {"server_ready": round(server_ready, 1),
               **student.timings,
               "browser_closed": round(browser_done, 1), "server_stopped": round(time.monotonic() - started, 1)}
    (SCREENSHOTS / "steps.json").write_text(json.dumps({"seconds_since_start": timings, "steps": STEPS}, indent=2)
                                            + "\n")
    print("browser test timings (s since start):", timings)
    for name in STEPS:
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 10_000, f"{name}.png looks empty"


def test_browser_guard_fails_on_ci_instead_of_skipping(monkeypatch):
    """On CI a missing browser is an error, never a silent skip."""
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require_browser()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="chromium"):
        require_browser()


def test_readme_screenshots_are_steps_of_the_browser_test():
    """The README's student guide shows screenshots of this test's steps, copied into assets/screenshots/."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## For students", 1)[1].split("\n## ", 1)[0]
    shown = re.findall(r"\(assets/screenshots/([\w-]+)\.png\)", section)
    assert len(shown) == 2, f"the student guide should show two screenshots, found {shown}"
    for name in shown:
        assert name in STEPS, f"assets/screenshots/{name}.png is not a step of the browser test"
        assert (REPO_ROOT / "assets" / "screenshots" / f"{name}.png").is_file(), f"{name}.png is missing"
