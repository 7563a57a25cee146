"""tlhelpers.strategy (the strategy matrix's advice) and tlhelpers.strategy_experiments (the source CNN, layer
copying, training and the cache)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tlhelpers import strategy as st

torch = pytest.importorskip("torch")
from tlhelpers import strategy_experiments as sx  # noqa: E402 - needs torch


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny networks train faster on one thread (and the test machine's cores are shared)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ------------------------------------------------------------------------------------------------ advice


@pytest.mark.parametrize("n, similarity, expected", [
    (5, "similar", "feature_extraction"),
    (500, "similar", "fine_tune_all"),
    (5, "different", "fine_tune_top"),
    (500, "different", "fine_tune_all"),
])
def test_recommend_known_answers(n, similarity, expected):
    advice = st.recommend(n, similarity)
    assert advice.strategy == expected
    assert advice.strategy in st.STRATEGIES
    assert advice.similarity == similarity and advice.distance is None
    assert str(n) in advice.reason and similarity in advice.reason


def test_recommend_size_boundary_and_measured_distance():
    assert st.recommend(st.SMALL_DATA_MAX - 1, "similar").size == "small"
    assert st.recommend(st.SMALL_DATA_MAX, "similar").size == "large"
    assert st.recommend(np.int64(3), "similar").strategy == "feature_extraction"
    near = st.recommend(10, st.PAD_SIMILAR_MAX)
    far = st.recommend(10, st.PAD_SIMILAR_MAX + 0.01)
    assert (near.similarity, near.strategy) == ("similar", "feature_extraction")
    assert (far.similarity, far.strategy) == ("different", "fine_tune_top")
    assert far.distance == pytest.approx(st.PAD_SIMILAR_MAX + 0.01)
    assert "proxy A-distance" in far.reason


@pytest.mark.parametrize("n", [0, -3, 2.5, True, "10", None])
def test_recommend_rejects_bad_counts(n):
    with pytest.raises(ValueError, match="n_labels_per_class"):
        st.recommend(n, "similar")


@pytest.mark.parametrize("similarity, message", [("close", "recommend_from_data"), (2.5, "between 0 and 2"),
                                                 (-0.1, "between 0 and 2"), (None, "similar")])
def test_recommend_rejects_bad_similarity(similarity, message):
    with pytest.raises(ValueError, match=message):
        st.recommend(10, similarity)


def test_recommend_from_data_measures_the_distance():
    rng = np.random.default_rng(0)
    source = rng.normal(size=(300, 8))
    same = rng.normal(size=(300, 8))
    far = rng.normal(size=(300, 8)) + 6.0
    near_advice = st.recommend_from_data(source, same, 500, random_state=0)
    assert near_advice.similarity == "similar" and near_advice.distance < 0.5
    assert near_advice.strategy == "fine_tune_all"
    far_advice = st.recommend_from_data(source, far, 500, random_state=0)
    assert far_advice.similarity == "different" and far_advice.distance > st.PAD_SIMILAR_MAX
    assert far_advice.strategy == "fine_tune_all"
    assert far_advice.reason.startswith("measured proxy A-distance")


def test_measure_similarity_rejects_bad_features():
    ok = np.zeros((20, 4))
    with pytest.raises(ValueError, match="2-D"):
        st.measure_similarity(np.zeros(20), ok)
    with pytest.raises(ValueError, match="different widths"):
        st.measure_similarity(ok, np.zeros((20, 5)))
    with pytest.raises(ValueError, match="at least 10"):
        st.measure_similarity(ok, np.zeros((5, 4)))
    with pytest.raises(ValueError, match="n_labels_per_class"):
        st.recommend_from_data(ok, ok, 0)


def test_importing_the_module_does_not_import_torch():
    code = "import sys, tlhelpers.strategy; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# ------------------------------------------------------------------------------------------- the network


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_small_cnn_structure_and_seeding():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    net = sx.small_cnn(7, seed=5)
    assert torch.equal(torch.rand(1), before), "building a seeded network must not touch the global RNG"
    assert len(net.features) == len(sx.DEFAULT_WIDTHS) == 6
    assert _same(_state(net), _state(sx.small_cnn(7, seed=5)))
    assert not _same(_state(net), _state(sx.small_cnn(7, seed=6)))
    assert net.eval()(torch.zeros(3, 1, 28, 28)).shape == (3, 7)
    for bad in ({"num_classes": 1}, {"num_classes": 5, "widths": []}, {"num_classes": 5, "pool_after": [9]}):
        with pytest.raises(ValueError):
            sx.small_cnn(**bad)


@pytest.mark.parametrize("n", range(0, 7))
@pytest.mark.parametrize("fine_tune", [False, True])
def test_transfer_blocks_copies_exactly_n_blocks(n, fine_tune):
    source = sx.small_cnn(5, seed=1)
    source_state = _state(source)
    fresh = sx.small_cnn(10, seed=2)   # what the re-initialised part must equal (same seed, same shapes)
    net = sx.transfer_blocks(source, n, num_classes=10, fine_tune=fine_tune, seed=2)
    for i, block in enumerate(net.features):
        copied = _same(_state(block), _state(source.features[i]))
        reinit = _same(_state(block), _state(fresh.features[i]))
        assert copied == (i < n) and reinit == (i >= n), f"block {i + 1} with n={n}"
        trainable = [p.requires_grad for p in block.parameters()]
        assert all(trainable) if (fine_tune or i >= n) else not any(trainable), f"block {i + 1} with n={n}"
    assert _same(_state(net.head), _state(fresh.head)) and all(p.requires_grad for p in net.head.parameters())
    assert net.head.linear.out_features == 10
    assert sx.frozen_prefix(net) == (0 if fine_tune else n)
    assert _same(_state(source), source_state), "the source must not change"


def test_transfer_blocks_rejects_bad_n():
    for bad in (-1, 7, 2.0, True):
        with pytest.raises(ValueError, match="between 0 and 6"):
            sx.transfer_blocks(sx.small_cnn(5), bad, 5)


def test_strategy_models_freeze_what_they_should():
    source = sx.small_cnn(5, seed=10)
    frozen = {s: [not any(p.requires_grad for p in b.parameters()) for b in sx.strategy_model(s, source, 3).features]
              for s in st.STRATEGIES}
    assert frozen["train_from_scratch"] == [False] * 6
    assert frozen["feature_extraction"] == [True] * 6
    assert frozen["fine_tune_top"] == [True] * 4 + [False] * 2
    assert frozen["fine_tune_all"] == [False] * 6
    scratch = sx.strategy_model("train_from_scratch", source, 3, seed=0)
    assert not _same(_state(scratch.features[0]), _state(source.features[0]))
    assert scratch.transferred == 0 and sx.strategy_model("fine_tune_all", source, 3).transferred == 6
    with pytest.raises(ValueError, match="unknown strategy"):
        sx.strategy_model("fine_tune_some", source, 3)
    with pytest.raises(ValueError, match="top_blocks"):
        sx.strategy_model("fine_tune_top", source, 3, top_blocks=6)


def _toy_images(n_per_class=12, seed=0):
    """Two easy classes of 28x28 grey images: a bright square top-left or bottom-right."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 40, size=(2 * n_per_class, 28, 28)).astype(np.uint8)
    labels = np.repeat([0, 1], n_per_class)
    images[:n_per_class, 2:12, 2:12] = 250
    images[n_per_class:, 16:26, 16:26] = 250
    order = rng.permutation(len(labels))
    return images[order], labels[order]


def test_fit_trains_the_trainable_part_only_and_is_reproducible():
    images, labels = _toy_images()
    source = sx.small_cnn(2, seed=0)
    net = sx.strategy_model("fine_tune_top", source, 2, seed=0)
    frozen_before = _state(net.features[:4])         # includes BatchNorm running statistics
    top_before = _state(net.features[4:])
    sx.train_steps(net, images, labels, steps=80, batch_size=8, seed=0, device="cpu")
    assert _same(_state(net.features[:4]), frozen_before), "frozen blocks (and their BatchNorm) must not change"
    assert not _same(_state(net.features[4:]), top_before), "trainable blocks must learn"
    assert sx.accuracy(net, images, labels) == 1.0
    again = sx.train_steps(sx.strategy_model("fine_tune_top", source, 2, seed=0), images, labels, steps=80,
                           batch_size=8, seed=0, device="cpu")
    assert _same(_state(again), _state(net)), "same seed, same data: same weights"
    assert sx.predict(net, images).shape == (len(images),)
    assert sx.embed(net, images).shape == (len(images), 64 * 9)
    assert sx.embed(net, images, n_blocks=2, grid=1).shape == (len(images), 16)


def test_fit_and_helpers_reject_bad_input():
    images, labels = _toy_images(4)
    net = sx.small_cnn(2)
    with pytest.raises(ValueError, match="steps"):
        sx.train_steps(net, images, labels, steps=0)
    with pytest.raises(ValueError, match="as many labels"):
        sx.train_steps(net, images, labels[:-1], steps=1)
    frozen = sx.transfer_blocks(net, 6, 2)
    for p in frozen.head.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        sx.train_steps(frozen, images, labels, steps=1)
    with pytest.raises(ValueError, match="grey"):
        sx.to_tensor(np.zeros((2, 28, 28, 3)))
    with pytest.raises(ValueError, match="0..255"):
        sx.to_tensor(np.full((2, 28, 28), 300.0))
    with pytest.raises(ValueError, match="n_blocks"):
        sx.embed(net, images, n_blocks=7)
    with pytest.raises(TypeError, match="small_cnn"):
        sx.frozen_prefix(torch.nn.Linear(2, 2))


# ------------------------------------------------------------------------------------- the cached source


def test_train_source_model_writes_once_then_reads(private_cache, monkeypatch):
    images, labels = _toy_images()
    kwargs = dict(num_classes=2, steps=5, batch_size=8, seed=0)
    model, from_cache = sx.train_source_model(images, labels, **kwargs)
    assert from_cache is False
    path = sx.source_model_path(images, labels, num_classes=2, steps=5, batch_size=8, lr=3e-3,
                                widths=list(sx.DEFAULT_WIDTHS), pool_after=list(sx.DEFAULT_POOL_AFTER),
                                grid=sx.DEFAULT_GRID, seed=0)
    assert path.is_file() and path.with_name(path.name + ".sha256").is_file()
    assert private_cache in path.parents
    assert not list(path.parent.glob("*.tmp")), "no temporary file may be left behind"
    written = path.stat().st_mtime_ns

    def no_training(*args, **kw):
        raise AssertionError("the second call must read the cache, not train")

    monkeypatch.setattr(sx, "train_steps", no_training)
    again, from_cache = sx.train_source_model(images, labels, **kwargs)
    assert from_cache is True and path.stat().st_mtime_ns == written
    assert _same(_state(again), _state(model)), "the cached model must be the trained one"
    x = sx.to_tensor(images)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), again.eval()(x))


def test_train_source_model_key_and_corrupt_file(private_cache):
    images, labels = _toy_images()
    model, _ = sx.train_source_model(images, labels, num_classes=2, steps=3, batch_size=8)
    other, from_cache = sx.train_source_model(images, labels, num_classes=2, steps=4, batch_size=8)
    assert from_cache is False, "other settings must not reuse the cache file"
    files = sorted(p.name for p in (private_cache / "models").glob("*.pt"))
    assert len(files) == 2
    path = private_cache / "models" / files[0]
    path.write_bytes(path.read_bytes()[:-10] + b"corrupted!")
    for name in files:   # one of the two files is corrupt; its model is retrained, the other one is read
        steps = 3 if sx.source_model_path(images, labels, num_classes=2, steps=3, batch_size=8, lr=3e-3,
                                          widths=list(sx.DEFAULT_WIDTHS), pool_after=list(sx.DEFAULT_POOL_AFTER),
                                          grid=sx.DEFAULT_GRID, seed=0).name == name else 4
        _, from_cache = sx.train_source_model(images, labels, num_classes=2, steps=steps, batch_size=8)
        assert from_cache is (name != files[0])
    _, from_cache = sx.train_source_model(images, labels, num_classes=2, steps=3, batch_size=8, cache=False)
    assert from_cache is False
