"""Collect submissions from a folder or an LMS zip into nbgrader's ``build/submitted/<student>/<assignment>/``.

Hand-written because nbgrader's ``zip_collect`` only logs what it skips; an instructor needs a report of what could
not be matched (wrong name, unknown notebook, a missing notebook, two submissions by one student) to chase it.
Accepted names: ``<student>/<notebook>.ipynb`` (a folder per student; ``<student>/<student>_..._<notebook>.ipynb``
too), or flat LMS-style names ``<student>_<anything>_<notebook>.ipynb`` at the top (``-1``, ``-2`` resubmission
suffixes allowed). The id comes from the folder (or, at the top, the LMS's name), never from a name inside a
student's folder; ids are NFKC-normalised and case-folded (``Alice`` is ``alice``) or refused. A zip is read entry by
entry in memory, never extracted, so its paths cannot point outside the course.
"""

from __future__ import annotations

import json
import re
import unicodedata
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tlhelpers.cache import atomic_write
from tlhelpers.grading.limits import MAX_NOTEBOOK_BYTES
from tlhelpers.layout import CourseLayout

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


@dataclass
class CollectReport:
    """What was collected, and everything that could not be used as it was."""

    assignment: str
    collected: dict[str, list[str]] = field(default_factory=dict)       # student -> notebooks
    unmatched: list[dict[str, str]] = field(default_factory=list)       # file, reason
    missing: dict[str, list[str]] = field(default_factory=dict)         # student -> notebooks not handed in
    duplicates: list[dict[str, str]] = field(default_factory=list)      # student, notebook, kept, dropped

    def summary(self) -> str:
        lines = [f"{self.assignment}: {len(self.collected)} students collected"]
        lines += [f"  not matched: {u['file']} ({u['reason']})" for u in self.unmatched]
        lines += [f"  missing: {s} did not hand in {', '.join(n)}" for s, n in sorted(self.missing.items())]
        lines += [f"  two submissions: {d['student']} / {d['notebook']}: kept {d['kept']}, ignored {d['dropped']}"
                  for d in self.duplicates]
        return "\n".join(lines)


def _entries(source: Path):
    """(name, modified time, reader) for every notebook file in a folder or zip."""
    from tlhelpers.grading.safe_files import read_regular

    if source.is_dir():
        for path in sorted(source.rglob("*.ipynb")):
            if ".ipynb_checkpoints" in path.parts or path.is_symlink():
                continue
            yield (path.relative_to(source).as_posix(), path.stat().st_mtime,
                   (lambda p=path: read_regular(p, "", MAX_NOTEBOOK_BYTES)), path.stat().st_size)
    elif zipfile.is_zipfile(source):
        archive = zipfile.ZipFile(source)
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            if info.is_dir() or not info.filename.endswith(".ipynb") or "__MACOSX" in info.filename \
                    or ".ipynb_checkpoints" in info.filename:
                continue
            try:
                mtime = datetime(*info.date_time).timestamp()
            except (ValueError, OverflowError):      # a corrupt date in one entry is not the class's problem
                mtime = 0.0
            yield info.filename, mtime, (lambda i=info: archive.read(i)), info.file_size
    else:
        raise FileNotFoundError(f"{source} is neither a folder nor a zip file of submissions")


def normalise_id(raw: str) -> str | None:
    """The student id for a folder or LMS name: Unicode NFKC (full-width and other compatibility forms become
    plain letters), case-folded; None when the result is not a usable id (e.g. Cyrillic look-alikes stay refused).
    """
    student = unicodedata.normalize("NFKC", raw).casefold()
    return student if STUDENT_ID.match(student) else None


def _lms_name(stem: str, notebooks: list[str]) -> tuple[str, str] | None:
    alternatives = "|".join(re.escape(n) for n in sorted(notebooks, key=len, reverse=True))
    found = re.match(rf"^(?P<student>[^_]+)_(?:.*_)?(?P<notebook>{alternatives})(?:-\d+)?$", stem)
    return (found["student"], found["notebook"]) if found else None


def match(name: str, notebooks: list[str]) -> tuple[str | None, str | None, str]:
    """(student, notebook, reason) for one file name; student is None when it cannot be matched.

    The student id comes from where the LMS or the folder layout puts it: the top folder of ``<student>/...``, or,
    for a file at the top (an LMS's flat export), its ``<student>_`` prefix. A file inside a student's folder that
    names another student (``bob_<notebook>.ipynb``, ``bob/<notebook>.ipynb`` in alice's folder) is not collected:
    the reason says so, for the report.
    """
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    stem = parts[-1][: -len(".ipynb")] if parts else ""
    folders = parts[:-1]
    if not folders:
        found = _lms_name(stem, notebooks)
        if not found:
            return None, None, f"the name names none of the notebooks {sorted(notebooks)}"
        raw, notebook = found
    else:
        raw = folders[0]
        if len(folders) > 1:
            return None, None, (f"a sub-folder {folders[1]!r} inside {raw!r}'s folder: not collected (only "
                                f"{raw}/<notebook>.ipynb is, so no file can claim another student)")
        plain = re.sub(r"-\d+$", "", stem)
        notebook = plain if plain in notebooks else None
        if notebook is None:
            found = _lms_name(stem, notebooks)
            if not found:
                return None, None, f"the name names none of the notebooks {sorted(notebooks)}"
            claimed, notebook = found
            if normalise_id(claimed) != normalise_id(raw):
                return None, None, (f"inside {raw!r}'s folder, the name claims student {claimed!r}: not collected "
                                    "(a student's id comes from the folder, never from a file name inside it)")
    student = normalise_id(raw)
    if student is None:
        return None, None, (f"{raw!r} is not a usable student id (ASCII letters, digits, _ . @ -, after Unicode "
                            "normalisation): rename it in the LMS export or collect it by hand")
    return student, notebook, ""


def collect(course: Path, assignment: str, source: Path) -> CollectReport:
    """Copy the notebooks in ``source`` into build/submitted and return (and save) the report."""
    release = CourseLayout(Path(course)).release(assignment)
    notebooks = sorted(p.stem for p in release.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no released notebooks in {release}: release the assignment first (make release)")
    report = CollectReport(assignment)
    chosen: dict[tuple[str, str], tuple[str, float, bytes]] = {}
    for name, mtime, read, size in _entries(Path(source)):
        student, notebook, reason = match(name, notebooks)
        if student is None:
            report.unmatched.append({"file": name, "reason": reason})
            continue
        if size > MAX_NOTEBOOK_BYTES:
            report.unmatched.append({"file": name, "reason": f"over {MAX_NOTEBOOK_BYTES // 2**20} MB"})
            continue
        try:
            data = read()
        except Exception as error:  # noqa: BLE001 - a corrupt entry (CRC, compression, FIFO) is reported, not fatal
            report.unmatched.append({"file": name, "reason": f"could not be read ({type(error).__name__}: "
                                                             f"{str(error)[:200]})"})
            continue
        previous = chosen.get((student, notebook))
        if previous is not None:
            kept, dropped = (name, previous[0]) if mtime >= previous[1] else (previous[0], name)
            report.duplicates.append({"student": student, "notebook": notebook, "kept": kept, "dropped": dropped})
            if kept == previous[0]:
                continue
        chosen[(student, notebook)] = (name, mtime, data)
    for (student, notebook), (_, mtime, data) in sorted(chosen.items()):
        folder = CourseLayout(Path(course)).submitted(student, assignment)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_write(folder / f"{notebook}.ipynb") as handle:
            handle.write(data)
        stamp = datetime.fromtimestamp(mtime, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f %Z")
        (folder / "timestamp.txt").write_text(stamp)
        report.collected.setdefault(student, []).append(notebook)
    for student, handed in report.collected.items():
        lacking = sorted(set(notebooks) - set(handed))
        if lacking:
            report.missing[student] = lacking
    out = CourseLayout(Path(course)).collect_report(assignment)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out, "w") as handle:
        json.dump(asdict(report), handle, indent=1)
    return report
