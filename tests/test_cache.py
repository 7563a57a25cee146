import hashlib
import os

import pytest

from tlhelpers.cache import ChecksumError, atomic_write, cache_dir, sha256_file, stable_key, verify_sha256


def test_atomic_write_replaces_only_on_success(tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as handle:
            handle.write(b"half of the new")
            raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["data.bin"], "the temporary file must be removed"
    with atomic_write(target) as handle:
        handle.write(b"new")
    assert target.read_bytes() == b"new"


def test_atomic_write_text_mode_and_bad_mode(tmp_path):
    with atomic_write(tmp_path / "sub" / "a.txt", "w") as handle:
        handle.write("hello")
    assert (tmp_path / "sub" / "a.txt").read_text() == "hello"
    with pytest.raises(ValueError, match="mode"):
        with atomic_write(tmp_path / "b", "a"):
            pass


def test_sha256_and_verify(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc" * 1000)
    assert sha256_file(path) == hashlib.sha256(b"abc" * 1000).hexdigest()
    verify_sha256(path, sha256_file(path).upper())
    with pytest.raises(ChecksumError, match="delete it"):
        verify_sha256(path, "0" * 64)


def test_cache_dir_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TLHELPERS_CACHE", str(tmp_path / "c"))
    assert cache_dir("x", "y") == tmp_path / "c" / "x" / "y"
    assert (tmp_path / "c" / "x" / "y").is_dir()
    monkeypatch.delenv("TLHELPERS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "tlhelpers"


def test_stable_key_is_order_independent_for_dicts_and_sensitive_to_values():
    assert stable_key({"a": 1, "b": 2}) == stable_key({"b": 2, "a": 1})
    assert stable_key({"a": 1}) != stable_key({"a": 2})
    assert len(stable_key("x")) == 16


def test_checked_file_round_trip_and_a_bad_pair_is_refused_and_removed(tmp_path):
    from tlhelpers.cache import read_checked, write_checked

    path = write_checked(tmp_path / "sub" / "payload.bin", lambda handle: handle.write(b"payload"))
    sidecar = tmp_path / "sub" / "payload.bin.sha256"
    assert sidecar.read_text() == hashlib.sha256(b"payload").hexdigest()
    assert read_checked(path, lambda p: p.read_bytes()) == b"payload"
    path.write_bytes(b"tampered")
    assert read_checked(path, lambda p: pytest.fail("a mismatched file must not be read")) is None
    assert not path.exists() and not sidecar.exists()
    assert read_checked(path, lambda p: p.read_bytes()) is None          # nothing there: nothing read
    with pytest.raises(RuntimeError):
        write_checked(path, lambda handle: (_ for _ in ()).throw(RuntimeError("killed mid-write")))
    assert not path.exists() and not sidecar.exists()                   # a failed write leaves neither file
