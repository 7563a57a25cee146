import gzip
import shutil

import numpy as np
import pytest

from tlhelpers import data
from tlhelpers.cache import ChecksumError


@pytest.fixture(scope="module")
def fashion_test():
    return data.load_fashion_mnist("test")


def test_fashion_mnist_shapes_and_labels(fashion_test):
    X, y = fashion_test
    assert X.shape == (10000, 28, 28) and X.dtype == np.uint8
    assert y.shape == (10000,) and set(np.unique(y)) == set(range(10))
    assert np.bincount(y).tolist() == [1000] * 10  # the test split is balanced
    assert len(data.FASHION_CLASSES) == 10


def test_fashion_mnist_train_split():
    X, y = data.load_fashion_mnist("train")
    assert X.shape == (60000, 28, 28) and len(y) == 60000


def test_unknown_split_is_a_clear_error():
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.load_fashion_mnist("validation")


def test_folder_from_environment_wins(tmp_path, monkeypatch):
    for name in data._FASHION_FILES:
        shutil.copy(data.DEBIAN_FASHION_DIR / name, tmp_path / name)
    monkeypatch.setenv("TLHELPERS_FASHION_MNIST_DIR", str(tmp_path))
    assert data.fashion_mnist_dir() == tmp_path


def test_missing_data_names_the_apt_command(tmp_path, monkeypatch, private_cache):
    monkeypatch.setenv("TLHELPERS_FASHION_MNIST_DIR", str(tmp_path / "empty"))
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "not-installed")
    with pytest.raises(data.DataNotFoundError, match="apt-get install dataset-fashion-mnist"):
        data.load_fashion_mnist("test")


def test_truncated_idx_file_is_refused(tmp_path):
    for name in data._FASHION_FILES:
        shutil.copy(data.DEBIAN_FASHION_DIR / name, tmp_path / name)
    with gzip.open(data.DEBIAN_FASHION_DIR / "t10k-images-idx3-ubyte.gz") as src:
        raw = src.read()
    with gzip.open(tmp_path / "t10k-images-idx3-ubyte.gz", "wb") as dst:
        dst.write(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="truncated"):
        data.load_fashion_mnist("test", folder=tmp_path)


def test_download_verifies_and_is_atomic(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in data._FASHION_FILES:
        shutil.copy(data.DEBIAN_FASHION_DIR / name, mirror / name)
    dest = tmp_path / "dest"
    folder = data.download_fashion_mnist(mirror.as_uri(), dest=dest)
    X, y = data.load_fashion_mnist("test", folder=folder)
    assert X.shape == (10000, 28, 28)
    # A corrupt mirror: the bad file is refused and nothing half-written stays behind.
    with gzip.open(mirror / "t10k-labels-idx1-ubyte.gz", "wb") as handle:
        handle.write(b"\x00\x00\x08\x01" + (10000).to_bytes(4, "big") + bytes(10000))
    bad_dest = tmp_path / "bad"
    with pytest.raises(ChecksumError, match="nothing was saved"):
        data.download_fashion_mnist(mirror.as_uri(), dest=bad_dest, names=["t10k-labels-idx1-ubyte.gz"])
    assert list(bad_dest.iterdir()) == []


def test_download_replaces_a_corrupt_cached_file(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    name = "t10k-labels-idx1-ubyte.gz"
    shutil.copy(data.DEBIAN_FASHION_DIR / name, mirror / name)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / name).write_bytes(b"garbage from an old interrupted run")
    data.download_fashion_mnist(mirror.as_uri(), dest=dest, names=[name])
    assert (dest / name).read_bytes() == (mirror / name).read_bytes()


def test_load_digits():
    X, y = data.load_digits()
    assert X.shape == (1797, 8, 8) and X.max() == 16 and set(np.unique(y)) == set(range(10))


def test_few_shot_subset_is_balanced_and_reproducible(fashion_test):
    _, y = fashion_test
    idx = data.few_shot_subset(y, 7, random_state=3)
    assert len(idx) == 70 and len(set(idx.tolist())) == 70
    assert np.bincount(y[idx], minlength=10).tolist() == [7] * 10
    assert np.array_equal(idx, data.few_shot_subset(y, 7, random_state=3))
    assert not np.array_equal(idx, data.few_shot_subset(y, 7, random_state=4))
    only = data.few_shot_subset(y, 5, random_state=0, classes=[1, 3])
    assert set(y[only].tolist()) == {1, 3}


def test_few_shot_subset_errors():
    y = np.array([0, 0, 1, 1, 1])
    with pytest.raises(ValueError, match="class 0 has only 2 examples"):
        data.few_shot_subset(y, 3)
    with pytest.raises(ValueError, match="positive integer"):
        data.few_shot_subset(y, 0)
    with pytest.raises(ValueError, match="1-D"):
        data.few_shot_subset(y.reshape(5, 1), 1)


def test_train_val_split_stratifies():
    X, y = data.load_digits()
    X_tr, X_val, y_tr, y_val = data.train_val_split(X, y, 0.25, random_state=0)
    assert len(X_tr) + len(X_val) == len(X)
    assert abs(len(X_val) - 0.25 * len(X)) <= 1
    assert np.allclose(np.bincount(y_val) / len(y_val), np.bincount(y) / len(y), atol=0.01)
    with pytest.raises(ValueError, match="between 0 and 1"):
        data.train_val_split(X, y, 1.5)
    with pytest.raises(ValueError, match="rows"):
        data.train_val_split(X, y[:-1])
