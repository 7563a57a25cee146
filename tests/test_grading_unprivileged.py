"""The grader run by an ordinary user, as most instructors run it (issue 17, finding 7).

CI runs as root, where the sandbox drops each run to a uid of its own; an instructor's laptop grades as a normal user,
where bubblewrap creates a user namespace instead. This test creates a throwaway system user (removed afterwards,
also when the test fails), grades the toy assignment as that user (honest students and a few attacks from
tests/test_grading_adversarial.py), and asserts the same exact scores, honest grades untouched and nothing planted.
Locally without root it is skipped with the reason; on CI (CI=true) it must run, so a missing prerequisite fails.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grading_toy import ASSIGNMENT, make_toy_course, submission, submit

from tlhelpers.layout import CourseLayout

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
ATTACKS = ["input_transformer", "post_run_hook", "rewrites_probe_frame", "writes_gradebook", "plants_files"]


def _cannot(reason: str) -> None:
    """Skip locally, fail on CI: the unprivileged path must be tested there."""
    if os.environ.get("CI"):
        pytest.fail(f"the grader cannot be tested as an unprivileged user on CI: {reason}")
    pytest.skip(reason)


def _blocked(paths: list[Path]) -> dict[Path, set[str]]:
    """Folders above ``paths`` that other users cannot enter (e.g. /root, mode 700, holding pyenv's Python), each
    with the names of its entries that lead to a needed path."""
    blocked: dict[Path, set[str]] = {}
    for path in paths:
        for parent in reversed(path.parents):
            if parent != Path("/") and not parent.stat().st_mode & stat.S_IXOTH:
                below = path.relative_to(parent).parts
                blocked.setdefault(parent, set()).add(below[0])
                break
    return blocked


def _as_user(user: str, command: list[str], env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    """Run ``command`` as ``user``. Where the interpreter or the checkout lies below a folder only root may enter,
    the command runs in a private mount namespace in which that folder is an empty tmpfs (mode 755) holding only the
    needed entries, bound from the real ones: nothing changes on the host, and nothing else of it becomes visible."""
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    inner = [runuser, "-u", user, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()], *command]
    needed = [Path(sys.executable).resolve(), Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), REPO]
    blocked = _blocked(needed)
    if not blocked:
        return subprocess.run(inner, capture_output=True, text=True, timeout=timeout)
    lines = ["set -e", "stage=$(mktemp -d)"]
    for i, (folder, names) in enumerate(sorted(blocked.items())):
        for j, name in enumerate(sorted(names)):
            lines += [f"mkdir -p $stage/{i}_{j}", f"mount --bind {shlex.quote(str(folder / name))} $stage/{i}_{j}"]
        lines.append(f"mount -t tmpfs -o mode=755 tmpfs {shlex.quote(str(folder))}")
        for j, name in enumerate(sorted(names)):
            lines += [f"mkdir -p {shlex.quote(str(folder / name))}",
                      f"mount --bind $stage/{i}_{j} {shlex.quote(str(folder / name))}"]
    lines.append("exec " + " ".join(shlex.quote(a) for a in inner))
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", "\n".join(lines)],
                          capture_output=True, text=True, timeout=timeout)


GRADE = """
import json, sys
from tlhelpers.grading import sandbox
from tlhelpers.grading.runner import grade_assignment
limits = sandbox.Limits(wall_seconds=120, cell_timeout=15, max_processes=64)
summaries = grade_assignment(sys.argv[1], sys.argv[2], limits=limits, progress=False)
print("SCORES " + json.dumps({s["student"]: s.get("score", s.get("error")) for s in summaries}))
"""


def test_grading_as_an_unprivileged_user_gives_the_same_scores():
    if os.geteuid() != 0:
        _cannot("creating a throwaway user needs root (run the slow tests as root, as CI does)")
    for tool in ("useradd", "userdel", "runuser", "bwrap", "unshare"):
        if shutil.which(tool) is None:
            _cannot(f"`{tool}` is not installed")
    user = f"tlgrader{os.getpid() % 100000}"
    made = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
                          capture_output=True, text=True)
    if made.returncode != 0:
        _cannot(f"useradd failed: {made.stderr.strip()}")
    root = Path(tempfile.mkdtemp(prefix="tl-unprivileged-", dir="/tmp"))
    try:
        root.chmod(0o755)
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(root), "LANG": "C.UTF-8",
               "PYTHONPATH": f"{REPO}:{REPO / 'tests'}"}
        readable = _as_user(user, [sys.executable, "-c", "import tlhelpers.grading.runner"], env, timeout=120)
        if readable.returncode != 0:
            _cannot("the checkout or its .venv is not readable by other users: " + readable.stderr.strip()[-300:])
        userns = _as_user(user, ["bwrap", "--ro-bind", "/", "/", "--unshare-user", "--unshare-pid", "--proc",
                                 "/proc", "true"], env, timeout=60)
        if userns.returncode != 0:
            _cannot("bubblewrap cannot create a user namespace as an ordinary user here "
                    f"({userns.stderr.strip()[:200]}); allow it, e.g. sysctl kernel.unprivileged_userns_clone=1 or "
                    "kernel.apparmor_restrict_unprivileged_userns=0")

        course = make_toy_course(root)
        submit(course, "honest_full", submission(course, base="solution"))
        submit(course, "honest_blank", submission(course))
        from test_grading_adversarial import attacks

        plan = {name: spec for name, spec in attacks(course).items() if name in ATTACKS}
        for student, (nb, extra, _) in plan.items():
            submit(course, student, nb, extra)
        subprocess.run(["chown", "-R", f"{user}:{user}", str(root)], check=True)
        site = next(Path(p) for p in sys.path if p.endswith("site-packages"))
        tl_init = REPO / "tlhelpers" / "__init__.py"
        before = tl_init.read_bytes()

        ran = _as_user(user, [sys.executable, "-c", GRADE, str(course), ASSIGNMENT], env)
        assert ran.returncode == 0, ran.stderr[-3000:]
        scores = json.loads(ran.stdout.split("SCORES ", 1)[1].splitlines()[0])
        expected = {"honest_full": 4, "honest_blank": 0, **{name: spec[2] for name, spec in plan.items()}}
        assert scores == expected
        assert not (site / "evil.pth").exists() and tl_init.read_bytes() == before, "a file was planted"
        from tlhelpers.grading.gradebook import gradebook_url, scores as gradebook_scores

        full = gradebook_scores(gradebook_url(course), ASSIGNMENT, "honest_full")
        assert sum(full["toy"].values()) == 4, f"an honest grade changed: {full}"
        assert CourseLayout(course).feedback("honest_full", ASSIGNMENT).is_file()
    finally:
        # the sandbox's processes die with the grader (bwrap --die-with-parent, a PID namespace); userdel refuses a
        # user that still runs something, and says so
        gone = subprocess.run(["userdel", user], capture_output=True, text=True)
        assert gone.returncode == 0, f"the throwaway user {user} could not be removed: {gone.stderr}"
        shutil.rmtree(root, ignore_errors=True)
