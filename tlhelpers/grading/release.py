"""Check a release: regenerate it with nbgrader in a scratch copy, compare with notebooks/, and look for leaks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from tlhelpers.layout import GRADEBOOK_URL_VARIABLE, CourseLayout

LEAK_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def normalised(path: Path) -> dict:
    """A notebook reduced to what a student sees and nbgrader relies on (no volatile metadata)."""
    nb = nbformat.read(path, as_version=4)
    cells = []
    for cell in nb.cells:
        meta = {k: v for k, v in cell.metadata.items() if k in ("nbgrader", "tags", "deletable", "editable")}
        cells.append({"cell_type": cell.cell_type, "source": cell.source, "metadata": meta,
                      "outputs": cell.get("outputs", []), "execution_count": cell.get("execution_count")})
    return {"kernelspec": nb.metadata.get("kernelspec", {}), "cells": cells}


def leaks(release_dir: Path) -> list[str]:
    """Everything in a released assignment folder that a student must not get."""
    found = []
    for path in sorted(release_dir.rglob("*")):
        if path.name.endswith(".probes.py"):
            found.append(f"{path}: a grading probe file")
        if path.suffix != ".ipynb":
            continue
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            found += [f"{path} cell {i}: {m}" for m in LEAK_MARKERS if m in cell.source]
            if cell.cell_type == "code" and cell.get("outputs"):
                found.append(f"{path} cell {i}: outputs")
    return found


def generate(course: Path, assignment: str, into: Path) -> Path:
    """Release ``assignment`` of ``course`` with nbgrader into a scratch course under ``into``; the release folder."""
    scratch = into / "course"
    scratch.mkdir(parents=True)
    shutil.copy(course / "nbgrader_config.py", scratch / "nbgrader_config.py")
    shutil.copytree(CourseLayout(course).source(assignment), CourseLayout(scratch).source(assignment),
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    CourseLayout(scratch).build.mkdir()
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    env.pop(GRADEBOOK_URL_VARIABLE, None)      # the scratch release must not touch the real gradebook
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force"],
                          cwd=scratch, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{proc.stdout}\n{proc.stderr}")
    return CourseLayout(scratch).release(assignment)


def verify(course: Path, assignment: str) -> list[str]:
    """Problems with the committed release of ``assignment``: differences from a fresh one, and leaks."""
    course = Path(course).resolve()
    committed = CourseLayout(course).release(assignment)
    problems = leaks(committed)
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(course, assignment, Path(tmp))
        names = sorted(p.name for p in fresh.glob("*.ipynb"))
        if names != sorted(p.name for p in committed.glob("*.ipynb")):
            problems.append(f"{committed}: notebooks differ from a fresh release ({names})")
        for name in names:
            if (committed / name).is_file() and normalised(committed / name) != normalised(fresh / name):
                problems.append(f"{committed / name} differs from a fresh release: run `make release`")
    return problems
