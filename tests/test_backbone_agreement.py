"""The PyTorch and Keras EfficientNet-Lite0 compute the same function with the same weights."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")
skimage_data = pytest.importorskip("skimage.data")

import tlhelpers.keras as tk  # noqa: E402
import tlhelpers.torch as tt  # noqa: E402
from tlhelpers.efficientnet_spec import checkpoint_layers  # noqa: E402
from tlhelpers.imagenet import grey_to_rgb  # noqa: E402

TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TLHELPERS_CACHE", str(tmp_path_factory.mktemp("agreement-cache")))
        yield


@pytest.fixture(scope="module")
def photos() -> np.ndarray:
    return np.concatenate([grey_to_rgb(skimage_data.chelsea()[None], 224),
                           grey_to_rgb(skimage_data.coffee()[None], 224)])


@pytest.fixture(scope="module")
def keras_models(module_cache):
    return (tk.EfficientNetLite0(classifier_activation=None),
            tk.EfficientNetLite0(include_top=False, pooling="avg"))


@pytest.fixture(scope="module")
def torch_models():
    return tt.efficientnet_lite0(), tt.efficientnet_lite0(include_top=False)


@pytest.mark.parametrize("size", [224, 96, 75])
def test_features_and_logits_agree(size, photos, keras_models, torch_models):
    images = photos if size == 224 else grey_to_rgb(photos, size)
    k_top, k_base = keras_models
    t_top, t_base = torch_models
    with torch.inference_mode():
        x = tt.preprocess_input(images)
        t_logits, t_feats = t_top(x).numpy(), t_base(x).numpy()
    xk = tk.preprocess_input(images)
    k_logits, k_feats = k_top.predict_on_batch(xk), k_base.predict_on_batch(xk)
    assert t_feats.shape == k_feats.shape == (2, 1280)
    assert np.abs(t_feats - k_feats).max() < TOLERANCE
    assert np.abs(t_logits - k_logits).max() < TOLERANCE
    assert (t_logits.argmax(1) == k_logits.argmax(1)).all()


def test_same_parameter_counts(keras_models, torch_models):
    assert tk.count_params(keras_models[0]) == tt.count_params(torch_models[0])
    assert tk.count_params(keras_models[1]) == tt.count_params(torch_models[1])


def test_every_layer_has_its_counterpart(keras_models, torch_models):
    k_model, t_model = keras_models[0], torch_models[0]
    modules = dict(t_model.named_modules())
    for name, _prefix, _kind in checkpoint_layers():
        k_layer = k_model.get_layer(name)
        t_module = modules[tt._module_path(name)]
        assert k_layer.count_params() - (2 * k_layer.moving_mean.shape[0] if hasattr(k_layer, "moving_mean") else 0) \
            == sum(p.numel() for p in t_module.parameters()), name
