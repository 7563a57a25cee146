"""Run settings for a notebook: the profile, seeds, the compute device and the metrics file.

A notebook's papermill ``parameters`` cell holds ``profile = "ci"`` (and ``seed``, ``metrics_path``); the next
cell calls :func:`setup`, which resolves them with the environment:

* ``TLHELPERS_PROFILE`` overrides the profile for tools that cannot inject parameters (nbval, nbgrader);
* ``TLHELPERS_METRICS`` names the metrics JSON file when no ``metrics_path`` parameter was given.

Frameworks are seeded only if they are already imported, and the compute device is chosen only when
``run.device`` is first read (that imports PyTorch), so a notebook imports only the frameworks it uses: a
scikit-learn or Keras notebook never pays for PyTorch (about 2 s and a few hundred MB per kernel).
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from tlhelpers.cache import atomic_write

__all__ = [
    "PROFILES",
    "RunSettings",
    "setup",
    "resolve_profile",
    "pick",
    "seed_everything",
    "choose_device",
    "record_metric",
    "load_metrics",
]

#: The three profiles. A profile changes sizes only, never the code path.
PROFILES = ("smoke", "ci", "full")

PROFILE_ENV = "TLHELPERS_PROFILE"
METRICS_ENV = "TLHELPERS_METRICS"


def resolve_profile(profile: str | None = None) -> str:
    """Return the profile to run: ``$TLHELPERS_PROFILE`` if set, else ``profile``, else ``"ci"``.

    The environment wins because it is only set by tools that cannot inject papermill parameters.
    """
    chosen = os.environ.get(PROFILE_ENV) or profile or "ci"
    if chosen not in PROFILES:
        raise ValueError(f"unknown profile {chosen!r}: use one of {', '.join(PROFILES)}")
    return chosen


def pick(profile: str, sizes: Mapping[str, Any]) -> Any:
    """Pick the entry of ``sizes`` (a dict keyed by profile name) for ``profile``.

    >>> pick("ci", {"smoke": 100, "ci": 2000, "full": 60000})
    2000
    """
    missing = [p for p in PROFILES if p not in sizes]
    if missing:
        raise ValueError(f"sizes must give a value for every profile; missing {missing}")
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}: use one of {', '.join(PROFILES)}")
    return sizes[profile]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy, and (only when already imported) PyTorch and TensorFlow/Keras."""
    import numpy as np

    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)
    if "keras" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)
    elif "tensorflow" in sys.modules:
        import tensorflow as tf

        tf.random.set_seed(seed)


def choose_device(prefer: str | None = None) -> str:
    """Return the best available device name: ``"cuda"``, ``"mps"`` or ``"cpu"``.

    Checks PyTorch if it is installed; ``prefer`` forces a device (validated). Without PyTorch the answer is
    ``"cpu"`` unless TensorFlow is already imported and sees a GPU.
    """
    if prefer is not None:
        if prefer not in ("cuda", "mps", "cpu"):
            raise ValueError(f"unknown device {prefer!r}: use 'cuda', 'mps' or 'cpu'")
        return prefer
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    if "tensorflow" in sys.modules:
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            return "cuda"
    return "cpu"


@dataclass
class RunSettings:
    """What a notebook runs with; returned by :func:`setup`.

    ``device`` is the one :func:`setup` was given, else chosen on first use (see :func:`choose_device`).
    """

    profile: str
    seed: int
    metrics_path: Path | None
    metrics: dict[str, Any] = field(default_factory=dict)
    _device: str | None = field(default=None, repr=False, compare=False)

    @property
    def device(self) -> str:
        """``"cuda"``, ``"mps"`` or ``"cpu"``; checking for a GPU imports PyTorch, so it waits until asked."""
        if self._device is None:
            self._device = choose_device()
        return self._device

    def pick(self, sizes: Mapping[str, Any]) -> Any:
        """The entry of ``sizes`` for this run's profile (see :func:`pick`)."""
        return pick(self.profile, sizes)

    def record(self, name: str, value: Any) -> Any:
        """Record a named metric (see :func:`record_metric`) and return the value."""
        return record_metric(name, value, settings=self)


_current: RunSettings | None = None


def setup(profile: str = "ci", seed: int = 0, metrics_path: str | os.PathLike[str] | None = None,
          device: str | None = None) -> RunSettings:
    """Resolve the profile, seed everything and remember where metrics go and which device to use.

    Call it once near the top of a notebook with the papermill parameters. ``device`` forces a device (checked
    here); otherwise ``run.device`` picks one when first read.
    """
    global _current
    resolved = resolve_profile(profile)
    seed_everything(seed)
    path = metrics_path or os.environ.get(METRICS_ENV) or None
    _current = RunSettings(
        profile=resolved,
        seed=seed,
        metrics_path=Path(path) if path else None,
        _device=None if device is None else choose_device(device),  # a typo fails here, not at first use
    )
    if _current.metrics_path is not None:
        # Start a fresh file so that metrics of an earlier run never mix with this one's.
        _write_metrics(_current)
    return _current


def _jsonable(value: Any) -> Any:
    """Convert NumPy scalars/arrays and other simple types to JSON values; reject what is not numeric-like."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else value
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    raise TypeError(f"metric values must be numbers, strings, lists or dicts, got {type(value).__name__}")


def _write_metrics(settings: RunSettings) -> None:
    assert settings.metrics_path is not None
    with atomic_write(settings.metrics_path, "w") as handle:
        json.dump({"profile": settings.profile, "seed": settings.seed, "metrics": settings.metrics},
                  handle, indent=2, sort_keys=True)


def record_metric(name: str, value: Any, settings: RunSettings | None = None) -> Any:
    """Record a named result of the notebook and return ``value``.

    The metric is kept in memory and, when the run has a metrics path (papermill's ``metrics_path``
    parameter or ``$TLHELPERS_METRICS``), the whole JSON file is rewritten atomically.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("a metric needs a non-empty string name")
    run = settings or _current
    if run is None:
        run = setup()
    run.metrics[name] = _jsonable(value)
    if run.metrics_path is not None:
        _write_metrics(run)
    return value


def load_metrics(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a metrics file written by :func:`record_metric`; returns the ``metrics`` mapping."""
    with open(path) as handle:
        return json.load(handle)["metrics"]
