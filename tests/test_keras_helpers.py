"""tlhelpers.keras: EfficientNet-Lite0 ported to Keras 3 and the transfer-learning helpers."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
skimage_data = pytest.importorskip("skimage.data")

import tlhelpers.keras as tk  # noqa: E402
from tlhelpers.imagenet import grey_to_rgb  # noqa: E402

CATS = {281, 282, 283, 284, 285}
COFFEE = {967, 968, 504}


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    """A private course cache for the whole module (the converted weights are written there once)."""
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("keras-cache")
        mp.setenv("TLHELPERS_CACHE", str(path))
        yield path


@pytest.fixture(scope="module")
def photos() -> np.ndarray:
    return np.concatenate([grey_to_rgb(skimage_data.chelsea()[None], 224),
                           grey_to_rgb(skimage_data.coffee()[None], 224)])


@pytest.fixture(scope="module")
def model(module_cache):
    return tk.EfficientNetLite0()


@pytest.fixture(scope="module")
def base(module_cache):
    return tk.EfficientNetLite0(include_top=False, pooling="avg", input_shape=(64, 64, 3))


def test_layer_names_and_size(model):
    names = {layer.name for layer in model.layers}
    for expected in ("stem_conv", "block1a_dwconv", "block3b_expand_conv", "block3b_add", "block7a_project_bn",
                     "top_conv", "predictions"):
        assert expected in names
    assert tk.count_params(model)["total"] == 4_652_008


def test_imagenet_predictions(model, photos):
    probs = model.predict_on_batch(tk.preprocess_input(photos))
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    top5 = tk.decode_predictions(probs, top=5)
    assert top5[0][0][0] in CATS, top5[0]
    assert top5[1][0][0] in COFFEE, top5[1]


def test_converted_weights_are_cached_and_checked(module_cache, model):
    path = tk._weights_cache_file()
    assert path.is_file() and path.parent == module_cache / "weights"
    good = tk.imagenet_weights()
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])   # damage the cached conversion
    again = tk.imagenet_weights()                                      # converted again from the .pth
    assert all(np.array_equal(a, b) for k in good for a, b in zip(good[k], again[k]))
    assert tk.imagenet_weights()["stem_conv"][0].shape == (3, 3, 3, 32)


def test_random_weights_differ(model, photos):
    keras.utils.set_random_seed(0)
    rand = tk.EfficientNetLite0(weights=None)
    x = tk.preprocess_input(photos)
    assert np.abs(rand.predict_on_batch(x) - model.predict_on_batch(x)).max() > 0.01


def test_bad_arguments():
    with pytest.raises(ValueError, match="weights must be 'imagenet' or None"):
        tk.EfficientNetLite0(weights="imagenet21k")
    with pytest.raises(ValueError, match="add_head"):
        tk.EfficientNetLite0(classes=10)
    with pytest.raises(ValueError, match="repeat the channel"):
        tk.EfficientNetLite0(weights=None, input_shape=(96, 96, 1))


@pytest.mark.parametrize("bad, match", [
    (np.zeros((96, 96, 3), np.uint8), "batch axis"),
    (np.zeros((2, 96, 96, 1), np.uint8), "[Rr]epeat"),
    (np.zeros((2, 3, 96, 96), np.uint8), "channels-first"),
    (np.random.default_rng(0).normal(size=(2, 32, 32, 3)), "already normalised"),
])
def test_bad_input_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        tk.preprocess_input(bad)


def test_preprocess_input_values():
    x = tk.preprocess_input(np.array([[[[0, 127, 255]]]], np.uint8))
    np.testing.assert_allclose(x.ravel(), [-127 / 128, 0.0, 1.0])
    assert x.dtype == np.float32


def test_freeze_unfreeze_counts_and_bn_inference(module_cache):
    base = tk.EfficientNetLite0(include_top=False, pooling="avg", input_shape=(64, 64, 3))
    tk.freeze(base)
    model = tk.add_head(base, num_classes=5)
    head_params = 1280 * 5 + 5
    assert tk.count_params(model)["trainable"] == head_params

    tk.unfreeze_top_blocks(model, 3, include_head_conv=False)
    top3 = ("block6c_", "block6d_", "block7a_")
    expected = sum(l.count_params() for l in base.layers
                   if l.name.startswith(top3) and not isinstance(l, keras.layers.BatchNormalization))
    assert tk.count_params(model)["trainable"] == head_params + expected
    assert not any(l.trainable for l in base.layers if isinstance(l, keras.layers.BatchNormalization))
    tk.unfreeze_top_blocks(model, 1)
    expected = sum(l.count_params() for l in base.layers if l.name.startswith("block7a_")
                   and not isinstance(l, keras.layers.BatchNormalization)) + 320 * 1280
    assert tk.count_params(model)["trainable"] == head_params + expected
    counts = tk.count_params(model)
    assert counts["total"] == counts["trainable"] + counts["frozen"] == 3_371_008 + head_params

    # Frozen BatchNorm runs in inference mode even when called with training=True.
    x = tk.preprocess_input(np.random.default_rng(0).integers(0, 256, (4, 64, 64, 3)).astype(np.uint8))
    np.testing.assert_allclose(np.asarray(base(x, training=True)), np.asarray(base(x, training=False)),
                               atol=1e-5)


def test_add_head_output_shape(base):
    model = tk.add_head(base, num_classes=7)
    out = model.predict_on_batch(np.zeros((3, 64, 64, 3), np.float32))
    assert out.shape == (3, 7) and np.allclose(out.sum(axis=1), 1.0, atol=1e-5)
    fmap = tk.EfficientNetLite0(weights=None, include_top=False, input_shape=(64, 64, 3))
    assert tk.add_head(fmap, 4, activation=None).output_shape == (None, 4)
    with pytest.raises(ValueError, match="include_top=False"):
        tk.add_head(tk.EfficientNetLite0(weights=None), 3)


def test_extract_features_cache(base, private_cache, monkeypatch):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 64, 64, 3), dtype=np.uint8)
    calls = []
    real = tk._predict_batches
    monkeypatch.setattr(tk, "_predict_batches", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = tk.extract_features(base, images, batch_size=2)
    assert first.shape == (5, 1280) and first.dtype == np.float32 and calls == [1]
    np.testing.assert_allclose(first, base.predict_on_batch(tk.preprocess_input(images)), atol=1e-4)
    second = tk.extract_features(base, images, batch_size=2)
    assert calls == [1] and np.array_equal(first, second)

    path = tk.feature_cache_path(base, images)
    assert path.parent == private_cache / "features"
    path.write_bytes(b"\x93NUMPY garbage")
    third = tk.extract_features(base, images, batch_size=2)
    assert calls == [1, 1] and np.array_equal(first, third)


def test_extract_features_traces_once_and_matches_predict(base):
    # Batches of 3, 3 and 1: predict_on_batch would compile the network twice (3, then any size).
    images = np.random.default_rng(1).integers(0, 256, (7, 64, 64, 3), dtype=np.uint8)
    got = tk.extract_features(base, images, batch_size=3, cache=False)
    function = tk._INFERENCE_FUNCTIONS[base][(64, 64, 3)]
    assert function.experimental_get_tracing_count() == 1
    want = np.concatenate([base.predict_on_batch(tk.preprocess_input(images[i:i + 3])) for i in range(0, 7, 3)])
    assert np.array_equal(got, want), "the features must be bitwise those of predict_on_batch"
    tk.extract_features(base, images, batch_size=5, cache=False)
    assert function.experimental_get_tracing_count() == 1


def test_inference_functions_do_not_keep_models_alive():
    import gc
    import weakref

    small = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.GlobalAveragePooling2D()])
    tk.extract_features(small, np.zeros((2, 32, 32, 3), np.uint8), cache=False)
    assert small in tk._INFERENCE_FUNCTIONS
    ref = weakref.ref(small)
    del small
    gc.collect()
    assert ref() is None
