"""Start `make lab` on a throwaway copy of the course, on a free loopback port with a random token; stop it for sure.

The browser test drives the real `lab` target of the Makefile (with `-o setup`, so nothing is installed): the
assignments are released into the copy's local exchange and JupyterLab runs with the copy's nbgrader_config.py,
exactly as a student's `make lab` does. Test-only flags (port, no browser) go in through the target's LAB_ARGS.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from conftest import REPO_ROOT, log_tail, wait_until_answers


@dataclass
class LabServer:
    """A running JupyterLab: where to reach it, how to log in, and its log file."""

    url: str
    token: str
    log: Path
    process: subprocess.Popen

    def log_tail(self, chars: int = 6000) -> str:
        """The end of the server's log, for failure messages."""
        return log_tail(self.log, chars)


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now (the server is told not to try others, so a race fails loudly)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_course(where: Path, assignments: list[str]) -> Path:
    """Copy the nbgrader config, the solutions and the student release of ``assignments`` into ``where/course``."""
    course = where / "course"
    course.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    for assignment in assignments:
        for folder in ("solutions", "notebooks"):
            shutil.copytree(REPO_ROOT / folder / assignment, course / folder / assignment, ignore=ignore)
    return course


def _lab_settings(folder: Path) -> Path:
    """JupyterLab user settings for the test: no news question popping up over the screenshots."""
    notification = folder / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text('{"fetchNews": "false", "checkForUpdates": false}\n')
    return folder


def _kill_leftovers(marker: str) -> None:
    """SIGKILL processes whose command line names ``marker`` (this run's private folder): kernels live in
    sessions of their own, so they are found by the connection files they were given."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(proc.name), signal.SIGKILL)


def stop(server: LabServer) -> None:
    """Shut JupyterLab and its kernels down: the REST API first, then SIGTERM, then SIGKILL to the process group."""
    process = server.process
    if process.poll() is None:
        request = urllib.request.Request(server.url + "api/shutdown", method="POST", data=b"",
                                         headers={"Authorization": f"token {server.token}"})
        with contextlib.suppress(OSError):
            urllib.request.urlopen(request, timeout=5).close()
        for sig, grace in ((None, 15), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            if sig is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, sig)  # make, its shell and jupyter share the group started below
            try:
                process.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
    # The server is gone; make sure nothing of its group or its kernels is left.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def make_lab(course: Path, work: Path, env: dict[str, str] | None = None,
             startup_timeout: float = 120, target: str = "lab") -> Iterator[LabServer]:
    """Run the repository's `make lab` (or ``target``, e.g. lab-instructor) in ``course`` and yield the server; stop
    it on exit, whatever happened.

    ``work`` holds the log and private Jupyter folders (config, runtime, settings, workspaces), so nothing of
    the user's own Jupyter set-up changes what the test sees. ``env`` adds to the server's environment.
    """
    token = secrets.token_hex(24)
    port = free_port()
    private = {name: work / name for name in ("jupyter-config", "jupyter-runtime", "lab-workspaces", "tmp")}
    for folder in private.values():
        folder.mkdir(parents=True, exist_ok=True)
    venv_bin = str(Path(sys.executable).parent)
    full_env = dict(os.environ, **(env or {}))
    for name in ("JUPYTER_CONFIG_PATH", "TLHELPERS_METRICS"):  # the target sets the one; the other is a test's
        full_env.pop(name, None)
    full_env.update(
        PATH=os.pathsep.join([venv_bin, full_env.get("PATH", "")]),
        JUPYTER_TOKEN=token,  # in the environment, not on a command line that `ps` shows
        JUPYTER_CONFIG_DIR=str(private["jupyter-config"]),
        JUPYTER_RUNTIME_DIR=str(private["jupyter-runtime"]),
        JUPYTERLAB_SETTINGS_DIR=str(_lab_settings(work / "lab-settings")),
        JUPYTERLAB_WORKSPACES_DIR=str(private["lab-workspaces"]),
        # Kernels (the server's, and those nbgrader's Validate starts) get their connection files in here, so
        # any kernel left behind is found by this path and stopped.
        TMPDIR=str(private["tmp"]),
    )
    lab_args = ["--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
                "--no-browser", "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        lab_args.append("--allow-root")  # CI's Debian container runs as root
    command = ["make", "--no-print-directory", "-f", str(REPO_ROOT / "Makefile"), "-C", str(course),
               "-o", "setup", target, f"VENV={Path(sys.executable).parent.parent}", f"LAB_ARGS={' '.join(lab_args)}"]
    log = work / "jupyterlab.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(command, cwd=course, env=full_env, stdout=log_file, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    server = LabServer(url=f"http://127.0.0.1:{port}/", token=token, log=log, process=process)
    try:
        wait_until_answers(server.url + "api/status", process, log, startup_timeout, "`make lab` (JupyterLab)",
                           headers={"Authorization": f"token {token}"})
        yield server
    finally:
        stop(server)
        _kill_leftovers(str(work))
