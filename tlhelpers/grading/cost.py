"""Time limits sized from the answer key's own cost: a student's run may take a multiple of what the solution took.

The fixed limits (:class:`tlhelpers.grading.sandbox.Limits`) are sized for the slowest notebook in the ci profile; a
smoke-profile run of most notebooks takes seconds, so an endless loop held a worker for the fixed 300 s cell timeout
(about 46 honest submissions' time). When the key is computed, its wall time is saved beside it; each submission of
that notebook then gets a cell timeout and a wall limit of a multiple of it (with floors, so start-up noise never
fails an honest run), never more than the fixed limits.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

CELL_FACTOR = 5         # one cell may take 5x the whole solution notebook's run
MIN_CELL_SECONDS = 60
WALL_FACTOR = 10        # the whole run 10x the solution's
MIN_WALL_SECONDS = 180


def cost_path(key_path: Path) -> Path:
    """Where the key's cost is kept: ``<key>.cost.json`` beside the cached key."""
    return key_path.with_name(key_path.stem + ".cost.json")


def save_cost(key_path: Path, seconds: float) -> None:
    cost_path(key_path).write_text(json.dumps({"seconds": round(seconds, 3)}))


def load_cost(key_path: Path) -> float | None:
    """The solution's run time in seconds, or None (an older cache: the fixed limits apply)."""
    try:
        seconds = json.loads(cost_path(key_path).read_text())["seconds"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return float(seconds) if isinstance(seconds, (int, float)) and seconds > 0 else None


def sized_limits(base, key_seconds: float | None):
    """``base`` with the cell timeout and wall limit cut to multiples of the key's run time (never raised)."""
    if key_seconds is None:
        return base
    cell = max(MIN_CELL_SECONDS, math.ceil(CELL_FACTOR * key_seconds))
    wall = max(MIN_WALL_SECONDS, math.ceil(WALL_FACTOR * key_seconds))
    return dataclasses.replace(base, cell_timeout=min(base.cell_timeout, cell),
                               wall_seconds=min(base.wall_seconds, wall))
