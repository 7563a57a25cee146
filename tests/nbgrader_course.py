"""A throwaway copy of the course for tests that run the real nbgrader: config, solutions, release, gradebook."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tlhelpers.grading.release import normalised  # noqa: F401 - the tests compare notebooks as the grader does
from tlhelpers.layout import CourseLayout

REPO_ROOT = Path(__file__).resolve().parent.parent
NBGRADER = [sys.executable, "-m", "nbgrader"]
TEST_JUPYTER_CONFIG = Path(__file__).resolve().parent / "jupyter"   # IPC kernels for the tests only


def assignments(root: Path = REPO_ROOT) -> list[str]:
    return sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir() and list(p.glob("*.ipynb")))


def nbgrader(course: Path, *args: str, profile: str = "smoke", check: bool = True,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run an nbgrader command in the folder ``course``; notebooks execute in ``profile`` (via TLHELPERS_PROFILE).

    ``env`` adds to the environment (e.g. a student's JUPYTER_CONFIG_PATH and the exchange).
    """
    # nbgrader shells out to `alembic` when it creates a gradebook: the environment's bin folder comes first.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = dict(os.environ, TLHELPERS_PROFILE=profile, TQDM_DISABLE="1", PATH=path, **(env or {}))
    # The kernels of the tests' nbgrader commands use IPC, not TCP ports that another process can take first
    # (tests/jupyter/jupyter_config.py says why); the folder comes first, any other settings after it.
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(p for p in (str(TEST_JUPYTER_CONFIG), env.get("JUPYTER_CONFIG_PATH"))
                                                 if p)
    env.pop("TLHELPERS_METRICS", None)
    proc = subprocess.run([*NBGRADER, *args], cwd=course, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def make_course(where: Path, only: list[str] | None = None) -> Path:
    """Copy the config and solutions into ``where`` and release the assignments there with nbgrader.

    ``only`` limits the course to some assignments (each grading test builds its own small course).
    """
    course = where / "course"
    course.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    for assignment in only or assignments():
        shutil.copytree(REPO_ROOT / "solutions" / assignment, course / "solutions" / assignment,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    CourseLayout(course).build.mkdir()
    for assignment in assignments(course):
        nbgrader(course, "generate_assignment", assignment, "--force")
    return course
