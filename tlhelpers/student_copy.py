"""The student's copy of the course: the release notebooks, ``tlhelpers``, the environment files and a student
README, and nothing else (no solutions, probe files, answer keys, hidden tests, the grader or the tests).

``python -m tlhelpers.student_copy DEST`` (``make student-copy DEST=...``) writes it into a new folder DEST. What
goes in is listed once, in ``CONTENTS``; the README's "The student's copy" table lists the same paths, and
``tests/test_student_copy.py`` checks the copy against both and scans every file for leak markers.
"""

from __future__ import annotations

import argparse
import fnmatch
import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# (path pattern in the copy, what it is). A file belongs in the copy only when it matches one of these.
CONTENTS: list[tuple[str, str]] = [
    ("README.md", "this guide for students (the student part of the course README)"),
    ("Makefile", "`make setup` (the pinned environment) and `make lab` (JupyterLab with the student extensions)"),
    ("pyproject.toml", "the tlhelpers package and its pinned dependencies"),
    ("environment.yml", "the same pins for conda"),
    ("nbgrader_config.py", "the course id and local exchange that Assignment List and Validate use"),
    ("notebooks/*/*.ipynb", "the release: exercises without solutions, hidden tests or outputs"),
    ("tlhelpers/**.py", "the helper package the notebooks import (without the grader or the hub config)"),
    ("tlhelpers/jupyter/student/**.json", "JupyterLab settings that hide nbgrader's instructor tools"),
    ("assets/screenshots/*.png", "the screenshots this README shows"),
]
# Never copied, whatever the patterns say: the trusted grader, the class's hub config, and this module (it names the
# leak markers).
EXCLUDED = ("tlhelpers/grading", "tlhelpers/jupyter/hub", "tlhelpers/student_copy.py")
# Text that marks an instructor's file: a solution, hidden tests, a grading probe.
LEAK_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS",
                "@probe(", "tlhelpers.grading.probes")

STUDENT_MAKEFILE = """\
# The student's commands (the course's instructor repository has more).
#   make setup   .venv with the pinned packages (pip install -e '.[all]'), Debian data packages (apt-get as root)
#   make lab     JupyterLab on notebooks/, with nbgrader's Assignment List and Validate (no instructor tools)

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# This Makefile's folder: the student lab settings live in its tlhelpers/jupyter/student.
COURSE_ROOT := $(patsubst %/,%,$(dir $(abspath $(firstword $(MAKEFILE_LIST)))))

.PHONY: setup assets lab

setup: $(VENV)/.installed assets

$(VENV)/.installed: pyproject.toml
\ttest -x $(PY) || $(PYTHON) -m venv $(VENV)
\t$(PY) -m pip install --quiet --upgrade "pip>=24"
\t$(PY) -m pip install --quiet -e ".[all]"
\ttouch $@

assets: $(VENV)/.installed
\t$(PY) -m tlhelpers.assets --install --for course

""" + "\n"  # the lab target is appended from the course Makefile, so the two cannot drift apart


def matches(relative: str) -> str | None:
    """The CONTENTS pattern that ``relative`` (a posix path in the copy) matches, or None."""
    if any(relative == d or relative.startswith(d + "/") for d in EXCLUDED):
        return None
    for pattern, _ in CONTENTS:
        if fnmatch.fnmatchcase(relative, pattern.replace("**", "*")):
            return pattern
    return None


def lab_target(makefile: str) -> str:
    """The ``lab`` rule of the course Makefile (its comment lines, the rule and its recipe)."""
    lines = makefile.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("lab:"))
    start, end = rule, rule + 1
    while start > 0 and lines[start - 1].startswith("#"):
        start -= 1
    while end < len(lines) and lines[end].startswith("\t"):
        end += 1
    return "\n".join(lines[start:end]) + "\n"


def student_readme(readme: str) -> str:
    """The README a student gets: the course's title and introduction, then its "For students" section."""
    title_and_intro = readme.split("\n## ", 1)[0].rstrip()
    students = "## For students" + readme.split("\n## For students", 1)[1].split("\n## ", 1)[0].rstrip()
    setup = ("## Set up\n\nOn a Debian/Ubuntu machine with Python 3.11, `make` and `git`:\n\n```bash\n"
             "make setup   # .venv with the pinned packages, and the Debian data packages (apt-get as root)\n"
             "make lab     # JupyterLab on notebooks/\n```\n\n"
             "This is the student's copy of the course: the exercises, without their solutions. On a JupyterHub "
             "that your instructor runs you need none of this: log in, then use **Nbgrader > Assignment List** "
             "to fetch, submit and read your feedback.")
    return f"{title_and_intro}\n\n{setup}\n\n{students}\n"


def wanted_files(root: Path) -> list[Path]:
    """The course files (relative paths) that go into the copy unchanged."""
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if (not path.is_file() or path.is_symlink() or "__pycache__" in path.parts
                or ".ipynb_checkpoints" in path.parts or relative in ("README.md", "Makefile")):
            continue
        if relative.split("/")[0] not in ("notebooks", "tlhelpers", "assets") and "/" in relative:
            continue
        if matches(relative):
            found.append(Path(relative))
    return found


def leaks(folder: Path) -> list[str]:
    """Every file in ``folder`` that holds a leak marker or is named like an instructor's file."""
    problems = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        if path.name.endswith(".probes.py"):
            problems.append(f"{path}: a grading probe file")
        text = path.read_bytes().decode("utf-8", errors="replace")
        problems += [f"{path}: contains {marker!r}" for marker in LEAK_MARKERS if marker in text]
    return problems


def make_student_copy(dest: Path, root: Path = REPO_ROOT) -> list[Path]:
    """Write the student's copy of the course at ``root`` into the new folder ``dest``; the files written.

    Refuses an existing non-empty ``dest`` (nothing is overwritten) and fails, removing the copy, if any file
    written holds a leak marker.
    """
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} exists and is not empty: give a new folder (nothing was written)")
    if dest.resolve().is_relative_to(root.resolve()) and "build" not in dest.resolve().relative_to(
            root.resolve()).parts:
        raise ValueError(f"{dest} is inside the course repository: write the copy under build/ or elsewhere")
    if not any((root / "notebooks").glob("*/*.ipynb")):
        raise FileNotFoundError(f"no release notebooks in {root / 'notebooks'}: run `make release` first")
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for relative in wanted_files(root):
        (dest / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / relative, dest / relative)
        written.append(relative)
    (dest / "README.md").write_text(student_readme((root / "README.md").read_text()))
    (dest / "Makefile").write_text(STUDENT_MAKEFILE + lab_target((root / "Makefile").read_text()))
    written += [Path("README.md"), Path("Makefile")]
    problems = leaks(dest)
    if problems:
        shutil.rmtree(dest)
        raise RuntimeError("the student's copy would leak instructor material (nothing was kept):\n"
                           + "\n".join(problems))
    return sorted(written)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tlhelpers.student_copy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dest", type=Path, help="a new folder for the student's copy")
    args = parser.parse_args(argv)
    try:
        written = make_student_copy(args.dest)
    except (FileExistsError, FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"student-copy: {error}", file=sys.stderr)
        return 2
    print(f"wrote the student's copy to {args.dest}: {len(written)} files "
          f"({sum(1 for p in written if p.suffix == '.ipynb')} notebooks); share this folder, not the repository")
    return 0


if __name__ == "__main__":
    sys.exit(main())
