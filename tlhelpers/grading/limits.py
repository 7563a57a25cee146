"""Every cap the grader puts on a submission, in one place: sizes, output, and the sandbox's resources.

Imported both by the trusted grader and inside the sandbox (by :mod:`._execute`), so it imports nothing but the
standard library.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PROBE_TAG", "MAX_NOTEBOOK_BYTES", "MAX_EXECUTED_BYTES", "MAX_ANSWER_CHARS", "MAX_CELL_OUTPUT_CHARS",
           "MAX_PROBE_OUTPUT_CHARS", "MAX_NOTEBOOK_OUTPUT_CHARS", "INTERRUPT_GRACE_SECONDS", "Limits"]

#: The metadata key that marks the probe cells the grader adds (and, on the executed notebook, the run status).
PROBE_TAG = "tlgrader"

#: A submitted notebook larger than this is refused, at collection and again at grading.
MAX_NOTEBOOK_BYTES = 50 * 2**20
#: The executed notebook the sandbox writes back is not read when larger than this.
MAX_EXECUTED_BYTES = 64 * 2**20
#: An answer cell larger than this is cut (and the cut is reported).
MAX_ANSWER_CHARS = 200_000
#: Output kept per cell; the rest is replaced by a note (a 50 MB line is not kept whole).
MAX_CELL_OUTPUT_CHARS = 100_000
#: Output kept per probe cell, and the longest probe report line parsed: one answer line, maybe a larger array.
MAX_PROBE_OUTPUT_CHARS = 4_000_000
#: All outputs of one executed notebook together, as read back from the sandbox (the feedback page stays small).
MAX_NOTEBOOK_OUTPUT_CHARS = 2_000_000
#: After a cell's timeout, how long an interrupted cell has to stop before its kernel is killed.
INTERRUPT_GRACE_SECONDS = 10


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run."""

    wall_seconds: int = 900
    cell_timeout: int = 300
    cpu_seconds: int = 1800
    memory_bytes: int = 12 * 2**30
    max_processes: int = 1024
    max_file_bytes: int = 256 * 2**20
    tmp_bytes: int = 2 * 2**30          # the private /tmp (home, caches): a tmpfs of at most this size
    run_bytes: int = 512 * 2**20        # the notebook's working folder: a tmpfs too, nothing on the host's disk
