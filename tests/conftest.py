"""Shared fixtures: the repository root and a private cache folder per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def private_cache(tmp_path, monkeypatch) -> Path:
    """Point the course cache at an empty temporary folder for one test."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("TLHELPERS_CACHE", str(cache))
    return cache
