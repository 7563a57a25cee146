"""tlhelpers.torch: EfficientNet-Lite0 with ImageNet weights and the transfer-learning helpers."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
skimage_data = pytest.importorskip("skimage.data")

import tlhelpers.torch as tt  # noqa: E402
from tlhelpers.imagenet import grey_to_rgb  # noqa: E402

CATS = {281, 282, 283, 284, 285}            # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE = {967, 968, 504}                    # espresso, cup, coffee mug


@pytest.fixture(scope="module")
def photos() -> np.ndarray:
    """chelsea (a cat) and coffee, 224 px, uint8 NHWC."""
    return np.concatenate([grey_to_rgb(skimage_data.chelsea()[None], 224),
                           grey_to_rgb(skimage_data.coffee()[None], 224)])


@pytest.fixture(scope="module")
def model():
    return tt.efficientnet_lite0()


@pytest.fixture(scope="module")
def base():
    return tt.efficientnet_lite0(include_top=False)


def test_structure(model):
    assert len(model.blocks) == 16 and isinstance(model.blocks, torch.nn.Sequential)
    assert [b.name for b in model.blocks][:4] == ["block1a", "block2a", "block2b", "block3a"]
    assert model.blocks[-1].name == "block7a"
    assert tt.count_params(model)["total"] == 4_652_008
    assert not model.training


def test_imagenet_predictions(model, photos):
    with torch.inference_mode():
        logits = model(tt.preprocess_input(photos))
    top5 = tt.decode_predictions(logits, top=5)
    assert top5[0][0][0] in CATS, top5[0]
    assert top5[1][0][0] in COFFEE, top5[1]
    assert top5[0][0][2] > 0.5 and top5[1][0][2] > 0.5


def test_random_weights_differ(model, photos):
    torch.manual_seed(0)
    rand = tt.efficientnet_lite0(weights=None)
    x = tt.preprocess_input(photos)
    with torch.inference_mode():
        assert (model(x) - rand(x)).abs().max() > 1.0
    assert not torch.equal(rand.stem.conv.weight, model.stem.conv.weight)


def test_bad_arguments():
    with pytest.raises(ValueError, match="weights must be 'imagenet' or None"):
        tt.efficientnet_lite0(weights="cifar")
    with pytest.raises(ValueError, match="add_head"):
        tt.efficientnet_lite0(num_classes=10)
    with pytest.raises(ValueError, match="pooling"):
        tt.efficientnet_lite0(include_top=False, pooling="sum")


def test_pooling_shapes(base):
    x = torch.zeros(2, 3, 64, 64)
    with torch.inference_mode():
        assert base(x).shape == (2, 1280)
        fmap = tt.efficientnet_lite0(include_top=False, pooling=None)(x)
        assert fmap.shape == (2, 1280, 2, 2)
        torch.testing.assert_close(fmap.amax(dim=(2, 3)),
                                   tt.efficientnet_lite0(include_top=False, pooling="max")(x))


def test_preprocess_input_layouts_and_values(photos):
    nchw = tt.preprocess_input(torch.from_numpy(photos).permute(0, 3, 1, 2).float())
    nhwc = tt.preprocess_input(photos)  # uint8 NumPy, channels last
    assert nchw.shape == nhwc.shape == (2, 3, 224, 224) and nhwc.dtype == torch.float32
    torch.testing.assert_close(nchw, nhwc)
    assert float(tt.preprocess_input(np.full((1, 4, 4, 3), 255, np.uint8)).max()) == pytest.approx(1.0)


@pytest.mark.parametrize("bad, match", [
    (np.zeros((224, 224, 3), np.uint8), "batch axis"),
    (np.zeros((2, 224, 224, 1), np.uint8), "[Rr]epeat"),
    (np.zeros((2, 1, 224, 224), np.float32), "[Rr]epeat"),
    (np.zeros((2, 224, 224, 4), np.uint8), "alpha"),
    (np.random.default_rng(0).normal(size=(2, 3, 32, 32)).astype(np.float32), "already normalised"),
    (np.full((1, 3, 32, 32), 1000.0, np.float32), "0-255"),
])
def test_bad_input_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        tt.preprocess_input(bad)


def _non_bn_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for m in module.modules() if not isinstance(m, torch.nn.BatchNorm2d)
               for p in m.parameters(recurse=False))


def test_freeze_unfreeze_counts_and_bn_stays_in_inference():
    base = tt.efficientnet_lite0(include_top=False)
    model = tt.add_head(base, num_classes=5)
    head_params = 1280 * 5 + 5
    tt.freeze(base)
    counts = tt.count_params(model)
    assert counts == {"trainable": head_params, "frozen": counts["total"] - head_params, "total": counts["total"]}

    tt.unfreeze_top_blocks(model, 3, include_head_conv=False)
    expected = sum(_non_bn_params(b) for b in base.blocks[-3:])
    assert tt.count_params(model)["trainable"] == head_params + expected
    tt.unfreeze_top_blocks(model, 2)  # re-applies from scratch: fewer blocks, plus the head conv
    expected = sum(_non_bn_params(b) for b in base.blocks[-2:]) + base.head.conv.weight.numel()
    assert tt.count_params(model)["trainable"] == head_params + expected
    assert not any(p.requires_grad for m in base.modules() if isinstance(m, torch.nn.BatchNorm2d)
                   for p in m.parameters())

    model.train()
    assert model.head.training and base.blocks[-1].project_conv.training
    bns = [m for m in base.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)
    before = bns[-1].running_mean.clone()
    model(torch.rand(4, 3, 64, 64))
    torch.testing.assert_close(bns[-1].running_mean, before)  # statistics not updated
    tt.unfreeze_top_blocks(model, 0)
    assert tt.count_params(model)["trainable"] == head_params
    with pytest.raises(ValueError, match="between 0 and 16"):
        tt.unfreeze_top_blocks(model, 17)


def test_add_head_output_shape(base):
    model = tt.add_head(base, num_classes=7, dropout=0.3)
    with torch.inference_mode():
        assert model.eval()(torch.zeros(3, 3, 64, 64)).shape == (3, 7)
    fmap_model = tt.add_head(tt.efficientnet_lite0(weights=None, include_top=False, pooling=None), 4)
    with torch.inference_mode():
        assert fmap_model.eval()(torch.zeros(2, 3, 64, 64)).shape == (2, 4)
    with pytest.raises(ValueError, match="include_top=False"):
        tt.add_head(tt.efficientnet_lite0(weights=None), 3)


def test_extract_features_cache(base, private_cache):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 64, 64, 3), dtype=np.uint8)
    calls = []
    hook = base.register_forward_hook(lambda *a: calls.append(1))
    try:
        first = tt.extract_features(base, images, batch_size=2)
        assert first.shape == (5, 1280) and first.dtype == np.float32 and len(calls) == 3
        with torch.inference_mode():
            direct = base(tt.preprocess_input(images)).numpy()
        np.testing.assert_allclose(first, direct, atol=1e-4)
        calls.clear()
        second = tt.extract_features(base, images, batch_size=2)
        assert calls == [] and np.array_equal(first, second)       # read from the cache

        path = tt.feature_cache_path(base, images)
        assert path.is_file() and path.parent == private_cache / "features"
        path.write_bytes(path.read_bytes()[:100])                  # a corrupt / partial file...
        third = tt.extract_features(base, images, batch_size=2)
        assert len(calls) == 3 and np.array_equal(first, third)    # ...is not loaded but recomputed

        calls.clear()
        tt.extract_features(base, images[:4], batch_size=2)        # other images: other key
        assert len(calls) == 2
    finally:
        hook.remove()
    assert not base.training


def test_fit_reduces_loss_and_early_stopping():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    model = torch.nn.Linear(8, 2)
    history = tt.fit(model, (x, y), val_data=(x[:50], y[:50]), epochs=5, lr=0.05, progress=False)
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 5 for v in history.values())
    assert history["loss"][-1] < history["loss"][0] and history["val_accuracy"][-1] > 0.9

    # Validation labels flipped: the better it learns, the worse val_loss -> early stopping.
    model = torch.nn.Linear(8, 2)
    history = tt.fit(model, (x, y), val_data=(x[:50], 1 - y[:50]), epochs=50, lr=0.05,
                     early_stopping_patience=2, progress=False)
    assert history.stopped_early and len(history["loss"]) < 10
    best = min(history["val_loss"])
    assert history["val_loss"][history.best_epoch] == best
    with torch.no_grad():  # best weights restored
        val_loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(x[:50])), torch.from_numpy(1 - y[:50]))
    assert float(val_loss) == pytest.approx(best, rel=1e-4)


def test_fit_refuses_fully_frozen_model():
    model = tt.freeze(torch.nn.Linear(4, 2))
    with pytest.raises(ValueError, match="no trainable parameters"):
        tt.fit(model, (np.zeros((4, 4), np.float32), np.zeros(4, np.int64)), epochs=1, progress=False)


def test_extract_features_leaves_the_model_as_it_was(private_cache):
    model = tt.efficientnet_lite0(weights=None, include_top=False)
    stem = next(model.parameters())
    assert stem.is_contiguous()
    images = np.random.default_rng(1).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    tt.extract_features(model, images, cache=False, channels_last=True)
    # Computing the features (rather than reading them from the cache) must not change the model's layout,
    # or later training would differ between a cold and a warm cache.
    assert next(model.parameters()).is_contiguous()
    model.to(memory_format=torch.channels_last)
    tt.extract_features(model, images, cache=False, channels_last=False)
    weight = next(model.parameters())
    assert weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
