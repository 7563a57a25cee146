"""A real JupyterHub for one test: local Unix accounts, the course's hub config, its proxy from npm; all removed after.

`accounts` creates the Unix users (as root, with useradd, marked by their GECOS field so that only accounts this
helper made are ever removed) and, on exit, kills every process they own (by PID) and deletes them. `running_hub`
starts `jupyterhub -f tlhelpers/jupyter/hub/jupyterhub_config.py` on loopback ports and, on exit, stops the hub,
the proxy (by the PID in its pid file) and every single-user server and kernel (by the PIDs of the accounts'
processes), whatever happened in between.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from conftest import REPO_ROOT, log_tail, wait_until_answers
from lab_server import free_port

HUB_CONFIG = REPO_ROOT / "tlhelpers" / "jupyter" / "hub" / "jupyterhub_config.py"
PROXY = REPO_ROOT / "build" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
VENV_BIN = Path(sys.executable).parent.resolve()   # the real folder: a symlinked .venv is not in the sandbox
MARK = "tlhelpers hub test account"   # the GECOS field of every account this module creates


def missing_requirements() -> list[str]:
    """What this machine lacks to run the hub test, in words (empty when everything is there)."""
    missing = []
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        missing.append("root (it creates Unix accounts with useradd and runs the hub as root)")
    for tool in ("useradd", "userdel"):
        if shutil.which(tool) is None:
            missing.append(f"{tool} (Debian package passwd)")
    if not (PROXY.is_file() and os.access(PROXY, os.X_OK)):
        missing.append(f"configurable-http-proxy in {PROXY.parent} (`make test-setup` installs it with npm)")
    if shutil.which("node") is None:
        missing.append("node (Debian package nodejs)")
    if not (VENV_BIN / "jupyterhub").is_file():
        missing.append("jupyterhub in the course environment (pip install -e '.[dev]')")
    return missing


def processes_of(uids: set[int]) -> list[int]:
    """PIDs of the processes owned (real uid) by any of ``uids``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            status = (proc / "status").read_text()
        except OSError:
            continue
        uid_line = next((line for line in status.splitlines() if line.startswith("Uid:")), "")
        if uid_line and int(uid_line.split()[1]) in uids:
            pids.append(int(proc.name))
    return pids


def kill_processes_of(uids: set[int]) -> list[int]:
    """SIGKILL, by PID, every process the accounts own; returns the PIDs that were still running."""
    killed = []
    for _ in range(5):   # a dying server may still fork once
        pids = processes_of(uids)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        time.sleep(0.3)
    return killed


def _remove_account(name: str) -> None:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return
    if entry.pw_gecos != MARK:
        raise RuntimeError(f"the account {name!r} exists and was not made by this test: remove it or rename the "
                           "test's accounts")
    kill_processes_of({entry.pw_uid})
    subprocess.run(["userdel", "--force", "--remove", name], check=False, capture_output=True)
    with contextlib.suppress(KeyError):
        pwd.getpwnam(name)
        raise RuntimeError(f"userdel could not remove {name!r}")


@contextlib.contextmanager
def accounts(names: list[str], homes: Path) -> Iterator[dict[str, pwd.struct_passwd]]:
    """Create the Unix accounts ``names`` with private homes (mode 700) under ``homes``; remove them on exit."""
    made: list[str] = []
    try:
        for name in names:
            _remove_account(name)   # a leftover of an earlier, killed run of this test
            subprocess.run(["useradd", "--create-home", "--base-dir", str(homes), "--comment", MARK,
                            "--shell", "/bin/bash", "--user-group", name], check=True, capture_output=True)
            made.append(name)
            os.chmod(homes / name, 0o700)
        yield {name: pwd.getpwnam(name) for name in names}
    finally:
        errors = []
        for name in made:
            try:
                _remove_account(name)
            except Exception as err:  # noqa: BLE001 - remove the others anyway, then report
                errors.append(str(err))
        if errors:
            raise RuntimeError("; ".join(errors))


def run_as(user: pwd.struct_passwd, command: list[str], cwd: Path, env: dict[str, str],
           timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``command`` as ``user`` (its uid, its group, no supplementary groups of root's), with a clean env."""
    full_env = {"HOME": user.pw_dir, "USER": user.pw_name, "LOGNAME": user.pw_name, "LANG": "C.UTF-8",
                "PATH": os.pathsep.join([str(VENV_BIN), "/usr/bin", "/bin"]), **env}
    return subprocess.run(command, cwd=cwd, env=full_env, user=user.pw_uid, group=user.pw_gid, extra_groups=[],
                          capture_output=True, text=True, timeout=timeout)


def needed_paths() -> list[Path]:
    """What the accounts must reach: the course Python (through its symlinks), the repository, the proxy."""
    return [Path(sys.executable).resolve(), Path(sys.executable), REPO_ROOT / "tlhelpers", PROXY.resolve()]


@contextlib.contextmanager
def traversable(paths: list[Path]) -> Iterator[list[str]]:
    """Let every account traverse (o+x, not list) each folder above ``paths`` that others cannot enter, e.g. a
    Python installed under /root; put every mode back on exit. Yields what was changed, in words."""
    changed: dict[Path, int] = {}
    try:
        for path in paths:
            for folder in [*reversed(path.parents)]:
                mode = folder.stat().st_mode & 0o7777
                if folder not in changed and not mode & 0o001:
                    changed[folder] = mode
                    os.chmod(folder, mode | 0o001)
        yield [f"{folder}: {oct(mode)} -> {oct(mode | 0o001)} for the test" for folder, mode in changed.items()]
    finally:
        for folder, mode in changed.items():
            os.chmod(folder, mode)


@dataclass
class Hub:
    """A running hub: its public URL, state folder, log, and the process."""

    url: str
    state: Path
    log: Path
    process: subprocess.Popen

    def log_tail(self, chars: int = 8000) -> str:
        return log_tail(self.log, chars)


def stop_hub(hub: Hub, uids: set[int]) -> dict[str, list[int]]:
    """Stop the hub (SIGTERM: it stops the users' servers and its proxy), then kill by PID what is left: the
    proxy from its pid file, and every process of the accounts. Returns the PIDs that had to be killed."""
    leftovers: dict[str, list[int]] = {"hub": [], "proxy": [], "users": []}
    process = hub.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            leftovers["hub"].append(process.pid)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    pid_file = hub.state / "jupyterhub-proxy.pid"
    with contextlib.suppress(OSError, ValueError):
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"configurable-http-proxy" in cmdline:   # the pid is still our proxy, not a reused number
            os.kill(pid, signal.SIGKILL)
            leftovers["proxy"].append(pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)   # anything else the hub's session started
    leftovers["users"] = kill_processes_of(uids)
    return leftovers


@contextlib.contextmanager
def running_hub(state: Path, env: dict[str, str], startup_timeout: float = 90) -> Iterator[Hub]:
    """Start the course's hub config with ``env`` (the TLHUB_* settings) on free loopback ports; stop it on exit."""
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    port = free_port()
    full_env = {"PATH": os.pathsep.join([str(VENV_BIN), str(PROXY.parent), "/usr/bin", "/bin"]),
                "LANG": "C.UTF-8", "HOME": str(state), **env,
                "TLHUB_IP": "127.0.0.1", "TLHUB_PORT": str(port), "TLHUB_HUB_PORT": str(free_port()),
                "TLHUB_PROXY_API_PORT": str(free_port()), "TLHUB_STATE": str(state), "TLHUB_PROXY": str(PROXY),
                "CONFIGPROXY_AUTH_TOKEN": os.urandom(24).hex()}
    log = state / "jupyterhub.log"
    with open(log, "wb") as handle:
        process = subprocess.Popen([str(VENV_BIN / "jupyterhub"), "-f", str(HUB_CONFIG)], cwd=state, env=full_env,
                                   stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    hub = Hub(url=f"http://127.0.0.1:{port}/", state=state, log=log, process=process)
    try:
        wait_until_answers(hub.url + "hub/api/", process, log, startup_timeout, "jupyterhub", poll=0.3)
        yield hub
    finally:
        uids = set()
        for name in (env.get("TLHUB_INSTRUCTORS", "") + "," + env.get("TLHUB_STUDENTS", "")).split(","):
            with contextlib.suppress(KeyError):
                uids.add(pwd.getpwnam(name.strip()).pw_uid) if name.strip() else None
        hub.leftovers = stop_hub(hub, uids)
