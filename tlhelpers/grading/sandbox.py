"""Run a notebook in a bubblewrap sandbox: no network, no gradebook, no course files, limits, nothing left behind.

What the sandbox sees, read-only: the system (/usr, /etc), the Python installation and its environment, and the
tlhelpers package folder (not the repository around it: no solutions/, no probe files, no gradebook). Writable: a
private, size-limited /tmp (the home folder and caches live there), a size-limited working folder (tmpfs), and one
result file on the host's disk (see _workdir_args). Its own PID,
network, IPC and UTS namespaces: when the run ends, every process it started dies with it.

As root (CI, a grading server) the code runs as an unprivileged uid with no account (one per grading process), so
the process limit
applies to it; as another user it runs in a user namespace as that user. Limits: wall time (the whole run), CPU
seconds and address space per process, the number of processes, and the size of any file it writes.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import tlhelpers
from tlhelpers.grading.limits import Limits

# As root, each run executes as a uid of its own (no account needed; a range per grading process), so that a fork
# bomb in one submission exhausts only its own process limit, never a parallel worker's, and nothing a run leaves
# under its uid (its user keyring) reaches the next run.
SANDBOX_UID_BASE = 100_000
INSIDE = Path("/grading")       # the work folder's path inside the sandbox
RESULT = "out/executed.ipynb"   # the only file in it a run can write


@dataclass
class SandboxRun:
    """What came back from a sandboxed run: the exit code, whether the wall limit hit, and its log tail."""

    returncode: int
    timed_out: bool
    log: str


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here."""


def bwrap_path() -> str:
    """The bubblewrap executable, or a SandboxUnavailable that says how to install it."""
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable("grading runs submissions in a bubblewrap sandbox, and `bwrap` is not installed: "
                                 "run `apt-get install bubblewrap` (as root) or `make grading-setup`.")
    return path


UIDS_PER_PROCESS = 10_000
_run_index = 0


def sandbox_uid_range() -> range:
    """The uids this grading process's runs use (root only), one range per process so workers never share one."""
    start = SANDBOX_UID_BASE + (os.getpid() % 50_000) * UIDS_PER_PROCESS
    return range(start, start + UIDS_PER_PROCESS)


def sandbox_uid() -> int:
    """The uid the current run executes as (root only; otherwise the caller's own uid, mapped).

    A fresh one per run (:func:`prepare_workdir` moves on to the next): what a run leaves under its uid, such as
    keys in its user keyring, is not readable by the next submission's run.
    """
    return sandbox_uid_range()[_run_index % UIDS_PER_PROCESS]


def _next_run_uid() -> int:
    global _run_index
    _run_index += 1
    return sandbox_uid()


def _session_keyring_call():
    """A function that gives the calling process an empty session keyring of its own, or None (unknown platform).

    Without it a run inherits the grader's session keyring: it would possess (so could read) the grader's keys, and
    could leave keys there for every later run.
    """
    import ctypes

    number = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine)      # the keyctl system call
    if number is None:
        return None
    syscall = ctypes.CDLL(None, use_errno=True).syscall
    return lambda: syscall(number, 1, None)                             # KEYCTL_JOIN_SESSION_KEYRING, anonymous


def _readonly_paths() -> list[Path]:
    paths = [Path(sys.base_prefix), Path(sys.prefix), Path(tlhelpers.__file__).resolve().parent]
    data_dir = os.environ.get("TLHELPERS_FASHION_MNIST_DIR")
    if data_dir and Path(data_dir).is_dir():
        paths.append(Path(data_dir).resolve())
    unique: list[Path] = []
    for path in sorted({p.resolve() for p in paths}, key=lambda p: len(p.parts)):
        if not any(path.is_relative_to(u) for u in unique) and not str(path).startswith(("/usr/", "/etc/")):
            unique.append(path)
    return unique


def _system_args() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        path = Path(name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), name]
        elif path.is_dir():
            args += ["--ro-bind", name, name]
    return args


def _parent_dirs(paths: list[Path]) -> list[str]:
    """--dir arguments (mode 0755) for the folders above each bound path, so ``nobody`` can walk down to it."""
    made: set[Path] = set()
    args: list[str] = []
    for path in paths:
        for parent in reversed(path.parents):
            if parent == Path("/") or parent in made or str(parent) in ("/usr", "/etc", "/tmp"):
                continue
            made.add(parent)
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


def sandbox_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The whole environment inside the sandbox (nothing else leaks in from the grader's)."""
    env = {
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp/home", "USER": "student", "LANG": "C.UTF-8",
        "TMPDIR": "/tmp", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/home/.matplotlib",
        "JUPYTER_RUNTIME_DIR": "/tmp/home/runtime", "JUPYTER_DATA_DIR": "/tmp/home/data",
        "IPYTHONDIR": "/tmp/home/.ipython", "TLHELPERS_CACHE": "/tmp/home/cache", "TLHELPERS_PROFILE": "smoke",
        "TQDM_DISABLE": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
        # the same tlhelpers the grader runs (the folder bound read-only), also where the environment's editable
        # install points at another checkout that the sandbox does not see (a git worktree)
        "PYTHONPATH": str(Path(tlhelpers.__file__).resolve().parent.parent),
    }
    # The sandbox imports the tlhelpers the grader runs (its folder is bound read-only, alone in its parent): an
    # editable install may point elsewhere, e.g. at another checkout that the sandbox cannot see.
    env["PYTHONPATH"] = str(Path(tlhelpers.__file__).resolve().parent.parent)
    if os.environ.get("TLHELPERS_FASHION_MNIST_DIR"):
        env["TLHELPERS_FASHION_MNIST_DIR"] = str(Path(os.environ["TLHELPERS_FASHION_MNIST_DIR"]).resolve())
    env.update(extra or {})
    return env


def _workdir_args(workdir: Path, limits: Limits) -> list[str]:
    """``workdir`` at /grading read-only; its run/ a size-limited tmpfs; only out/executed.ipynb writable.

    So a run can write at most one file of at most ``max_file_bytes`` to the host's disk (one inode), and cannot
    replace anything the grader reads afterwards with a link or a FIFO (the folders are read-only, the result file
    is a mount point that cannot be removed or renamed).
    """
    return ["--ro-bind", str(workdir), str(INSIDE), "--perms", "0777", "--size", str(limits.run_bytes),
            "--tmpfs", str(INSIDE / "run"), "--bind", str(workdir / RESULT), str(INSIDE / RESULT)]


def sandbox_command(workdir: Path, command: list[str], env: dict[str, str], limits: Limits = Limits()) -> list[str]:
    """The bwrap command line that runs ``command`` with ``workdir`` mounted at /grading (see _workdir_args)."""
    readonly = _readonly_paths()
    args = [bwrap_path(), "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox", "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    args += _system_args()
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "01777", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp",
             "--perms", "0777", "--dir", "/tmp/home"]
    args += _parent_dirs(readonly + [INSIDE])
    for path in readonly:
        args += ["--ro-bind", str(path), str(path)]
    args += _workdir_args(workdir, limits) + ["--chdir", str(INSIDE / "run")]
    if os.geteuid() == 0:
        # Root: keep only the right to drop to `nobody`, then drop it with every other capability.
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--",
                 shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={sandbox_uid()}", f"--regid={sandbox_uid()}",
                 "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    else:
        args += ["--unshare-user", "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL", "--"]
    return args + command


def _apply_limits(limits: Limits):
    fresh_keyring = _session_keyring_call()       # looked up before the fork: the child only calls it

    def preexec() -> None:
        if fresh_keyring is not None:
            fresh_keyring()
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.max_file_bytes, limits.max_file_bytes))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_processes, limits.max_processes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return preexec


def prepare_workdir(workdir: Path) -> None:
    """Create run/ and out/ in ``workdir``, owned by the sandbox user when the grader is root."""
    for sub in ("run", "out"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    (workdir / RESULT).touch()              # the one file a run may write (bind-mounted alone, see _workdir_args)
    if os.geteuid() == 0:
        _next_run_uid()                     # each run a fresh uid: prepare_workdir comes before every run
        for path in [workdir, *workdir.rglob("*")]:
            os.chown(path, sandbox_uid(), sandbox_uid(), follow_symlinks=False)


def run(workdir: Path, command: list[str], limits: Limits = Limits(), env: dict[str, str] | None = None) -> SandboxRun:
    """Run ``command`` in the sandbox over ``workdir``; kill everything it started when it ends or overruns."""
    cmd = sandbox_command(workdir, command, sandbox_env(env), limits)
    log_path = workdir.parent / (workdir.name + ".log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                preexec_fn=_apply_limits(limits), start_new_session=True)
        timed_out = False
        try:
            proc.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            # bwrap is the sandbox's parent: killing its group ends the PID namespace and all inside it.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    with open(log_path, "rb") as log:
        log.seek(max(0, log_path.stat().st_size - 20_000))
        tail = log.read().decode("utf-8", "replace")
    log_path.unlink()
    return SandboxRun(proc.returncode, timed_out, tail)


def execute_notebook(workdir: Path, limits: Limits = Limits(), env: dict[str, str] | None = None) -> SandboxRun:
    """Execute ``workdir/in.ipynb`` in the sandbox into ``workdir/out/executed.ipynb``."""
    command = [str(Path(sys.prefix) / "bin" / "python"), "-m", "tlhelpers.grading._execute",
               str(INSIDE / "in.ipynb"), str(INSIDE / RESULT),
               "--cell-timeout", str(limits.cell_timeout), "--cwd", str(INSIDE / "run")]
    return run(workdir, command, limits, env)
