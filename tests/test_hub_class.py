"""A class on a real JupyterHub: an instructor and two students with Unix accounts of their own, nbgrader's exchange,
the course's trusted grader, and Debian's chromium driven by Playwright as each user.

The hub runs the course's own config (tlhelpers/jupyter/hub/jupyterhub_config.py) with its proxy,
configurable-http-proxy from npm (`make test-setup` puts it in build/node), on loopback; a shared password
(JupyterHub's SharedPasswordAuthenticator) stands in for the accounts' own passwords. The accounts are created
and removed here (useradd/userdel, as root); servers run as those users (LocalProcessSpawner).

1. The instructor's course (solutions, gradebook) sits in their private home; they release 01_domains_and_tasks
   (nbgrader generate_assignment, release_assignment) and see it in their Formgrader.
   A user the hub allows but who has no Unix account is told, on the page, why no server starts.
2. alice logs in, fetches the assignment from the Assignment List (her lab has no Formgrader and no Create
   Assignment), types the solution's answers, saves and submits. bob submits too early (the release untouched),
   then types a wrong answer to exercise 1 and submits again.
3. From bob's kernel: the instructor's solutions and gradebook, alice's home and the exchange's inbound folder
   cannot be read or listed.
4. The instructor collects (nbgrader collect: the newest submission of each student), grades with
   tlhelpers.grading (in its sandbox, smoke profile; not nbgrader autograde) and releases the feedback through
   the exchange (python -m tlhelpers.grading release-feedback).
5. Each student fetches their feedback and sees their own score and the grader's messages.

Screenshots of each step go in build/screenshots/hub/ (steps.json: seconds per step, per-student costs); the
README shows two. Needs root, useradd, node, build/node's proxy, chromium and playwright: skipped with the reason
where one is missing, failed on CI (CI=true).
"""

from __future__ import annotations

import json
import os
import pwd
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

import hub_server
from conftest import require
from lab_server import REPO_ROOT
from test_browser_lab import (CHROMIUM, CHROMIUM_ARGS, VIEWPORT, WRONG_ANSWER, Student, cell_indices,
                              require_browser, student_answers)
from tlhelpers.student_copy import make_student_copy

ASSIGNMENT = "01_domains_and_tasks"
NOTEBOOK = "domains_and_tasks.ipynb"
COURSE_ID = "transfer-learning"
INSTRUCTOR, HONEST, WRONG = "tlinstr", "tlalice", "tlbob"
GHOST = "tlghost"   # allowed to log in, but without a Unix account: the hub cannot start a server for them
SCREENSHOTS = REPO_ROOT / "build" / "screenshots" / "hub"
STEPS = {
    "01_instructor_formgrader": "the instructor's lab: Formgrader lists 01_domains_and_tasks, released",
    "02_student_assignment_list": "alice's Assignment List: 01_domains_and_tasks released, ready to fetch",
    "03_student_answered": "alice's fetched notebook with her answer typed in",
    "04_student_submitted": "alice's Assignment List after Submit: the submission and its time",
    "05_second_submission": "bob's Assignment List: two submissions (the newest is graded)",
    "06_access_denied": "bob's kernel: the instructor's files, alice's home and the inbound folder are closed",
    "07_honest_feedback": "alice's feedback page, fetched through the exchange: 10 / 10",
    "08_wrong_answer_feedback": "bob's feedback page: 8 / 10, and what is wrong with exercise 1",
}
USER_PASSWORD = "class-test-" + os.urandom(6).hex()
ADMIN_PASSWORD = "class-test-admin-" + os.urandom(16).hex()
LOGIN_TIMEOUT_MS = 180_000   # log in and start a server on a busy 2-core machine


def require_hub() -> None:
    """Skip where the hub test cannot run (with the reason); on CI fail instead."""
    require_browser()
    require("the JupyterHub test", hub_server.missing_requirements())


def rss_mb(uid: int) -> float:
    """Resident memory of all processes of ``uid`` (a student's server and kernels), in MB."""
    total = 0
    for pid in hub_server.processes_of({uid}):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        line = next((x for x in status.splitlines() if x.startswith("VmRSS:")), "VmRSS: 0 kB")
        total += int(line.split()[1])
    return round(total / 1024, 1)


ACCESS_CHECK = '''import json, os
paths = {paths!r}
seen = {{}}
for label, path in paths.items():
    try:
        os.listdir(path) if os.path.isdir(path) else open(path, "rb").read(1)
        seen[label] = "READABLE"
    except OSError as err:
        seen[label] = type(err).__name__
print("ACCESS " + json.dumps(seen, sort_keys=True))'''


class ClassUser(Student):
    """A user's hands in their hub session: log in, the Assignment List, fetch, submit, feedback."""

    def __init__(self, page, hub, name: str, started: float) -> None:
        super().__init__(page, None, started)
        self.hub, self.name = hub, name

    def shot(self, step: str, show=None) -> None:
        """Save build/screenshots/hub/<step>.png, with ``show`` (a locator) scrolled to the middle of the view."""
        if show is not None:
            show.evaluate("el => el.scrollIntoView({block: 'center'})")
            self.page.wait_for_timeout(300)
        self.page.screenshot(path=str(SCREENSHOTS / f"{step}.png"))

    def log_in(self, password: str) -> None:
        self.page.goto(self.hub.url + "hub/login")
        self.page.fill("#username_input", self.name)
        self.page.fill("#password_input", password)
        self.page.click("#login_submit")
        self.page.locator("#jp-main-dock-panel").wait_for(timeout=LOGIN_TIMEOUT_MS)
        self.page.locator("#jp-MainMenu").get_by_text("Nbgrader", exact=True).wait_for(timeout=60_000)

    def assignment_list(self) -> None:
        self.page.locator("#jp-MainMenu").get_by_text("Nbgrader", exact=True).click()
        self.page.get_by_text("Assignment List", exact=True).click()
        self.page.locator("#released_assignments_list").wait_for(timeout=60_000)

    def refresh(self) -> None:
        self.page.locator("#refresh_assignments_list").click()
        self.page.wait_for_timeout(500)

    def row(self, listing: str):
        return self.page.locator(f"#{listing} .list_item", has_text=ASSIGNMENT).first

    def fetch(self) -> None:
        self.row("released_assignments_list").get_by_role("button", name="Fetch").click()
        fetched = self.row("fetched_assignments_list")
        fetched.wait_for(timeout=60_000)
        fetched.locator(".assignment-notebooks-link").click()
        self.page.locator("#fetched_assignments_list .nested_list_item",
                          has_text=Path(NOTEBOOK).stem).wait_for(timeout=30_000)

    def open_fetched_notebook(self, n_cells: int) -> None:
        """Open the notebook from the Downloaded list (expanding the assignment first: a refresh folds it)."""
        nested = self.page.locator("#fetched_assignments_list .nested_list_item", has_text=Path(NOTEBOOK).stem)
        if not nested.first.is_visible():
            self.row("fetched_assignments_list").locator(".assignment-notebooks-link").click()
            nested.first.wait_for(state="visible", timeout=30_000)
        self.open_notebook_from_list(n_cells)

    def submit(self, expect: int) -> None:
        """Click Submit and wait until the Submitted list holds ``expect`` submissions."""
        self.row("fetched_assignments_list").get_by_role("button", name="Submit").click()
        self.page.wait_for_function(
            """n => document.querySelectorAll('#submitted_assignments_list .nested_list_item').length >= n""",
            arg=expect, timeout=60_000)

    def fetch_feedback(self) -> None:
        self.refresh()
        self.page.get_by_role("button", name="Fetch Feedback").first.click()
        self.page.get_by_text("(view feedback)").first.wait_for(timeout=60_000)


def course_for_instructor(home: Path) -> Path:
    """The instructor's course in their private home: config, the solution, tlhelpers (the grader's code)."""
    course = home / "course"
    course.mkdir()
    shutil.copy(REPO_ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    shutil.copytree(REPO_ROOT / "solutions" / ASSIGNMENT, course / "solutions" / ASSIGNMENT, ignore=ignore)
    shutil.copytree(REPO_ROOT / "tlhelpers", course / "tlhelpers", ignore=ignore)
    (course / "build").mkdir()
    return course


def quiet_lab(home: Path) -> None:
    """No 'receive Jupyter news?' question popping up over the screenshots (JupyterLab's user settings)."""
    settings = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}\n')


def chown_tree(path: Path, user) -> None:
    for folder, dirs, files in os.walk(path):
        for name in [folder, *(os.path.join(folder, f) for f in dirs + files)]:
            os.lchown(name, user.pw_uid, user.pw_gid)


@pytest.mark.slow
@pytest.mark.browser
def test_a_class_on_jupyterhub(tmp_path):
    require_hub()
    from playwright.sync_api import sync_playwright

    release = nbformat.read(REPO_ROOT / "notebooks" / ASSIGNMENT / NOTEBOOK, as_version=4)
    answers = student_answers(release, nbformat.read(REPO_ROOT / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4))
    where = cell_indices(release)
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    # Everything of the class lives in one folder the accounts can reach (pytest's tmp_path is private to root).
    root = Path(tempfile.mkdtemp(prefix="tl-hub-", dir="/tmp"))
    os.chmod(root, 0o755)
    timings: dict[str, float] = {}
    costs: dict[str, float] = {}
    started = time.monotonic()
    step = "set-up"

    def mark(name: str) -> None:
        timings[name] = round(time.monotonic() - started, 1)

    try:
        homes, exchange = root / "homes", root / "exchange"
        homes.mkdir(mode=0o755)
        exchange.mkdir()
        os.chmod(exchange, 0o777)   # nbgrader's documented exchange: `chmod ugo+rw` on a folder every account reaches
        make_student_copy(root / "student-copy")   # what students' kernels import tlhelpers from
        with hub_server.traversable(hub_server.needed_paths()) as opened, \
                hub_server.accounts([INSTRUCTOR, HONEST, WRONG], homes) as users, sync_playwright() as pw:
            if opened:
                print("opened for the test's accounts:", opened)
            for user in users.values():
                quiet_lab(Path(user.pw_dir))
            course = course_for_instructor(Path(users[INSTRUCTOR].pw_dir))
            for user in users.values():
                chown_tree(Path(user.pw_dir), user)
            grading_env = {"PYTHONPATH": str(course), "TLHELPERS_EXCHANGE": str(exchange),
                           "TLHELPERS_PROFILE": "smoke", "TQDM_DISABLE": "1"}

            def instructor(*command: str, as_root: bool = False):
                """``python -m <command>`` in the course folder, as the instructor (or as root: a grading server)."""
                python = [str(hub_server.VENV_BIN / "python"), "-m", *command]
                if as_root:
                    ran = subprocess.run(python, cwd=course, capture_output=True, text=True, timeout=300,
                                         env=dict(os.environ, **grading_env))
                else:
                    ran = hub_server.run_as(users[INSTRUCTOR], python, course, grading_env)
                who = "root" if as_root else INSTRUCTOR
                assert ran.returncode == 0, f"{' '.join(command)} failed as {who}:\n{ran.stdout}\n{ran.stderr}"
                return ran

            # The sandbox runs as the instructor where user namespaces are open to ordinary users; elsewhere (some
            # containers) the grader runs as root, as on a grading server (see the README).
            grader_is_root = hub_server.run_as(
                users[INSTRUCTOR], ["bwrap", "--ro-bind", "/", "/", "--unshare-user", "--unshare-pid", "--proc",
                                    "/proc", "true"], course, {}).returncode != 0
            costs["grader_ran_as_root"] = grader_is_root

            step = "release"
            instructor("nbgrader", "generate_assignment", ASSIGNMENT, "--force")
            instructor("nbgrader", "release_assignment", ASSIGNMENT)
            mark("released")
            hub_env = {"TLHUB_INSTRUCTORS": INSTRUCTOR, "TLHUB_STUDENTS": f"{HONEST},{WRONG},{GHOST}",
                       "TLHUB_USER_PASSWORD": USER_PASSWORD, "TLHUB_ADMIN_PASSWORD": ADMIN_PASSWORD,
                       "TLHUB_STUDENT_COURSE": str(root / "student-copy"), "TLHELPERS_EXCHANGE": str(exchange),
                       "TLHELPERS_PROFILE": "smoke"}
            step = "starting the hub"
            with hub_server.running_hub(root / "state", hub_env) as hub:
                mark("hub_up")
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
                pages = {}
                console: list[str] = []
                try:
                    def session(name: str) -> ClassUser:
                        pages[name] = browser.new_context(viewport=VIEWPORT).new_page()
                        pages[name].on("console", lambda msg, n=name: console.append(f"{n}: {msg.type}: {msg.text}"))
                        return ClassUser(pages[name], hub, name, started)

                    step = "01_instructor_formgrader"
                    teacher = session(INSTRUCTOR)
                    teacher.log_in(ADMIN_PASSWORD)
                    assert teacher.page.locator("#nbgrader-create_assignemnt").count() == 1, \
                        "the instructor's lab should have the Create Assignment sidebar"
                    # Formgrader's own page (the lab panel frames it; the hub's single-user server forbids that).
                    teacher.page.goto(hub.url + f"user/{INSTRUCTOR}/formgrader/manage_assignments")
                    teacher.page.get_by_text(ASSIGNMENT).first.wait_for(timeout=60_000)
                    teacher.page.locator("td", has_text=ASSIGNMENT).first.wait_for(timeout=30_000)
                    teacher.shot(step)
                    mark(step)

                    step = "a hub that cannot start a server"
                    ghost = session(GHOST)
                    ghost.page.goto(hub.url + "hub/login")
                    ghost.page.fill("#username_input", GHOST)
                    ghost.page.fill("#password_input", USER_PASSWORD)
                    ghost.page.click("#login_submit")
                    said = ghost.page.get_by_text("no Unix account named")
                    said.first.wait_for(timeout=60_000)
                    shown = ghost.page.locator("body").inner_text()
                    assert "Ask your instructor" in shown and "nothing of yours was changed" in shown, shown
                    # what the instructor sees: the hub's log names the user and the same reason (README)
                    logged = hub.log.read_text(errors="replace")
                    assert f"Error starting {GHOST}'s server" in logged and "no Unix account named" in logged, \
                        hub.log_tail()
                    ghost.page.screenshot(path=str(SCREENSHOTS / "spawn_failed.png"))
                    mark("spawn_failure_explained")

                    step = "02_student_assignment_list"
                    alice = session(HONEST)
                    alice.log_in(USER_PASSWORD)
                    mark("alice_logged_in")
                    alice.assignment_list()
                    alice.row("released_assignments_list").wait_for(timeout=60_000)
                    assert alice.page.locator("#nbgrader-create_assignemnt").count() == 0, \
                        "a student's lab must not have the Create Assignment sidebar"
                    alice.page.locator("#jp-MainMenu").get_by_text("Nbgrader", exact=True).click()
                    menu = alice.page.locator("#jp-mainmenu-nbgrader").inner_text()
                    alice.page.keyboard.press("Escape")
                    assert "Formgrader" not in menu and "Assignment List" in menu, f"alice's Nbgrader menu: {menu}"
                    alice.shot(step)
                    mark(step)

                    step = "03_student_answered"
                    alice.fetch()
                    alice.open_fetched_notebook(len(release.cells))
                    costs["student_server_mb"] = rss_mb(users[HONEST].pw_uid)   # server + kernel, notebook open
                    for grade_id, text in answers.items():
                        alice.write_cell(where[grade_id], text)
                    alice.save()
                    alice.shot(step, show=alice.cell(where[next(iter(answers))]))
                    mark(step)

                    step = "04_student_submitted"
                    alice.assignment_list()
                    alice.submit(expect=1)
                    alice.shot(step)
                    mark(step)

                    step = "05_second_submission"
                    bob = session(WRONG)
                    bob.log_in(USER_PASSWORD)
                    bob.assignment_list()
                    bob.row("released_assignments_list").wait_for(timeout=60_000)
                    bob.fetch()
                    bob.submit(expect=1)   # too early: the release as it was fetched
                    bob.open_fetched_notebook(len(release.cells))
                    for grade_id, text in answers.items():
                        bob.write_cell(where[grade_id], WRONG_ANSWER["source"] if grade_id == WRONG_ANSWER[
                            "grade_id"] else text)
                    bob.save()
                    bob.assignment_list()
                    bob.submit(expect=2)
                    bob.shot(step)
                    mark(step)

                    step = "06_access_denied"
                    inbound = exchange / COURSE_ID / "inbound"
                    alice_submission = next(inbound.glob(f"{HONEST}+{ASSIGNMENT}+*"))
                    paths = {"instructor's solutions": str(course / "solutions" / ASSIGNMENT / NOTEBOOK),
                             "instructor's course folder": str(course),
                             "gradebook": str(course / "build" / "gradebook.db"),
                             "alice's home": str(Path(users[HONEST].pw_dir)),
                             "alice's notebook": str(Path(users[HONEST].pw_dir) / ASSIGNMENT / NOTEBOOK),
                             "inbound (all submissions)": str(inbound)}
                    check = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
                        ACCESS_CHECK.format(paths=paths))])
                    check.metadata["kernelspec"] = release.metadata["kernelspec"]
                    check_path = Path(users[WRONG].pw_dir) / "check_access.ipynb"
                    nbformat.write(check, check_path)
                    os.chown(check_path, users[WRONG].pw_uid, users[WRONG].pw_gid)
                    # A workspace of its own, so the assignment's notebook is not open behind it.
                    bob.page.goto(hub.url + f"user/{WRONG}/lab/workspaces/access/tree/check_access.ipynb")
                    bob.page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']") \
                        .wait_for(timeout=120_000)
                    # Run the cell (Ctrl+Enter) once the kernel is idle; a run sent while JupyterLab is still
                    # connecting to the new kernel can be dropped, so try again after a while.
                    output = bob.cell(0).locator(".jp-OutputArea").get_by_text("ACCESS")
                    for attempt in range(4):
                        bob.page.wait_for_timeout(2000)
                        bob.cell(0).locator(".cm-content").click()
                        bob.page.keyboard.press("Control+Enter")
                        try:
                            output.wait_for(timeout=30_000)
                            break
                        except Exception:  # noqa: BLE001 - not run yet: try again, the last failure raises
                            if attempt == 3:
                                raise
                    seen = json.loads(output.inner_text().split("ACCESS", 1)[1])
                    assert set(seen) == set(paths) and all(v == "PermissionError" for v in seen.values()), \
                        f"bob's kernel could reach: {seen}"
                    # nbgrader names each submission with a random part: unlistable inbound = unfindable.
                    assert len(alice_submission.name.rsplit("+", 1)[1]) >= 12, alice_submission.name
                    bob.shot(step, show=bob.cell(0))
                    mark(step)

                    step = "collect and grade"
                    collected = instructor("nbgrader", "collect", ASSIGNMENT)
                    submitted = course / "build" / "submitted"
                    assert sorted(p.name for p in submitted.iterdir()) == [HONEST, WRONG], collected.stderr
                    assert len(list(inbound.glob(f"{WRONG}+{ASSIGNMENT}+*"))) == 2, "both of bob's submissions stay"
                    before = time.monotonic()
                    instructor("tlhelpers.grading", "grade", ASSIGNMENT, "--student", HONEST, "--no-progress",
                               as_root=grader_is_root)
                    costs["grading_first_student_s"] = round(time.monotonic() - before, 1)   # + the answer key
                    before = time.monotonic()
                    graded = instructor("tlhelpers.grading", "grade", ASSIGNMENT, "--student", WRONG, "--no-progress",
                                        as_root=grader_is_root)
                    costs["grading_one_student_s"] = round(time.monotonic() - before, 1)
                    costs["grading_peak_rss_mb"] = round(
                        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
                    assert f"{WRONG}: 8 / 10" in graded.stdout, graded.stdout
                    released = instructor("tlhelpers.grading", "release-feedback", ASSIGNMENT, as_root=grader_is_root)
                    assert HONEST in released.stdout and WRONG in released.stdout, released.stdout
                    mark("graded_and_feedback_released")

                    for who, step, score, words in ((alice, "07_honest_feedback", "10 / 10", []),
                                                    (bob, "08_wrong_answer_feedback", "8 / 10",
                                                     ["pad_from_error_tests", "failed"])):
                        who.assignment_list()
                        who.fetch_feedback()
                        folder = Path(users[who.name].pw_dir) / ASSIGNMENT / "feedback"
                        page_path = next(folder.glob(f"*/{Path(NOTEBOOK).stem}.html")).relative_to(
                            Path(users[who.name].pw_dir))
                        who.page.goto(hub.url + f"user/{who.name}/files/{page_path.as_posix()}")
                        summary = who.page.locator("#tl-grading-summary")
                        summary.wait_for(timeout=30_000)
                        text = summary.inner_text()
                        assert f"{ASSIGNMENT}: {score} points" in text and f"Student: {who.name}" in text, text
                        for word in words:
                            assert word in text, f"{who.name}'s feedback should say {word!r}:\n{text}"
                        other = WRONG if who.name == HONEST else HONEST
                        assert other not in who.page.content(), f"{who.name}'s feedback names {other}"
                        who.shot(step)
                        mark(step)
                    step = "done"
                except Exception as err:
                    shutil.copy(hub.log, SCREENSHOTS / "jupyterhub.log")
                    for name, page in pages.items():
                        try:
                            page.screenshot(path=str(SCREENSHOTS / f"failure-{name}.png"))
                        except Exception:  # noqa: BLE001 - the page may be gone; the original error matters
                            pass
                    raise AssertionError(
                        f"step {step} failed ({time.monotonic() - started:.0f} s in): {err}\n"
                        f"screenshots so far in {SCREENSHOTS}\n--- end of the hub's log ---\n{hub.log_tail()}"
                    ) from err
                finally:
                    browser.close()
                    (SCREENSHOTS / "browser-console.log").write_text("\n".join(console) + "\n")
            shutil.copy(root / "state" / "jupyterhub.log", SCREENSHOTS / "jupyterhub.log")
            mark("hub_stopped")
            assert not hub_server.processes_of({u.pw_uid for u in users.values()}), "processes of the accounts left"
        mark("accounts_removed")
    finally:
        shutil.rmtree(root, ignore_errors=True)

    leftovers = getattr(hub, "leftovers", {})
    (SCREENSHOTS / "steps.json").write_text(json.dumps(
        {"seconds_since_start": timings, "per_student_costs": costs, "killed_after_stop": leftovers,
         "steps": STEPS}, indent=2) + "\n")
    print("hub test timings (s since start):", timings, "costs:", costs, "killed after stop:", leftovers)
    for name in STEPS:
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 10_000, f"{name}.png looks empty"
    for name in (INSTRUCTOR, HONEST, WRONG):
        with pytest.raises(KeyError):
            pwd.getpwnam(name)


def test_hub_guard_fails_on_ci_instead_of_skipping(monkeypatch):
    """On CI a machine that cannot run the hub test is an error, never a silent skip."""
    monkeypatch.setattr(hub_server, "missing_requirements", lambda: ["root"])
    monkeypatch.setattr(sys.modules[__name__], "require_browser", lambda: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require_hub()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="root"):
        require_hub()


def test_readme_shows_two_steps_of_the_hub_test():
    """The README's "Run it for a class" shows two screenshots of this test's steps, copied to assets/screenshots/."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("### Run it for a class", 1)[1].split("\n### ", 1)[0]
    shown = re.findall(r"\(assets/screenshots/hub-([\w-]+)\.png\)", section)
    assert len(shown) == 2, f"the section should show two screenshots, found {shown}"
    for name in shown:
        assert name in STEPS, f"hub-{name}.png is not a step of the hub test"
        assert (REPO_ROOT / "assets" / "screenshots" / f"hub-{name}.png").is_file(), f"hub-{name}.png is missing"
