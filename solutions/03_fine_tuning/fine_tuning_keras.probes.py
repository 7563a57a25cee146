"""Grading probes for fine_tuning_keras.ipynb (how they are used: tlhelpers/grading/probes.py).

Each probe runs in the student's sandboxed kernel right after the test cell it names and returns plain data (what
the student's code produced, on inputs of the probe's own: class counts, image sizes, k and learning rates the
exercise text does not give); the grader compares it with what the same probe returns on the solution. The
trained-model probes return the model's predicted classes on the emoji test split, never the labels: their judges
(run in the grader's process) load the labels themselves and compute the accuracy, which must reach a threshold
set from the solution's spread over seeds in the smoke profile (see tests/test_ft_keras_exercises.py).
"""

from __future__ import annotations

from tlhelpers.grading.judges import held_out_accuracy
from tlhelpers.grading.probes import compare, probe

#: Emoji test-split accuracy (8 classes, 32 px, 10 labels per class) a trained model must reach in the probes.
#: Measured (benchmarks/fine_tuning_keras_probe_spread.py, probe seeds 0-2): the solution's train_head probe
#: 0.330 / 0.296 / 0.291, its fine_tune probe 0.323 / 0.354 / 0.301; a train_head that skips fitting 0.163 / 0.126 /
#: 0.126 (chance is 1/8). A fine_tune that skips phase 2 or unfreezes everything fails on what it changed.
MIN_HEAD_ACC = 0.24
MIN_FINETUNE_ACC = 0.24
PROBE_SIZE = 32     # the probes' image side (the probe bodies, sent to the kernel alone, spell out their numbers)


def _check_structure(got, expected):
    """What the trained-model probes report besides the predictions must match the key's."""
    if not isinstance(got, dict) or "predictions" not in got:
        return "the answer has the wrong form"
    structure = {k: v for k, v in got.items() if k != "predictions"}
    return compare(structure, {k: v for k, v in expected.items() if k != "predictions"}, rtol=1e-6, reveal=False)


def _judge_trained(threshold):
    """The structure as the key's, then the accuracy of the predictions (labels loaded in the grader's process)."""
    return held_out_accuracy(threshold, size=PROBE_SIZE, random_state=0, check=_check_structure,
                             hint="is every phase trained?")


@probe("ft_keras_count_params_tests", what="mbconv_trainable_params for the 16 blocks and two other specs")
def mbconv_trainable_params_answers():
    import numpy as np
    from tlhelpers.efficientnet_spec import BLOCKS, BlockSpec

    specs = list(BLOCKS) + [
        BlockSpec(index=16, stage=8, name="block8a", kernel=7, stride=1, expand_ratio=4, in_channels=24,
                  out_channels=48),
        BlockSpec(index=17, stage=9, name="block9a", kernel=5, stride=2, expand_ratio=1, in_channels=64,
                  out_channels=96),
    ]
    out = {}
    for spec in specs:
        value = mbconv_trainable_params(spec)
        is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        out[spec.name] = {"is an int": is_int, "value": int(value) if is_int else None}
    return out


@probe("ft_keras_build_model_tests", atol=1e-4, what="build_model on 5 classes at 48 px and 13 classes at 32 px")
def build_model_answers():
    import numpy as np
    import keras

    out = {}
    for classes, side in ((5, 48), (13, 32)):
        model = build_model(classes, (side, side, 3))
        x = (np.random.default_rng(side).integers(0, 256, (3, side, side, 3)).astype("float32") - 127) / 128
        logits = np.asarray(model(x, training=False))
        base = [l for l in model.layers if any(s.name == "block1a_dwconv" for s in getattr(l, "layers", []))]
        features = np.asarray(base[0](x, training=False)) if base else np.zeros((3, 1))
        features = features.mean((1, 2)) if features.ndim == 4 else features
        out[f"{classes} classes, {side} px"] = {
            "is a keras.Model": isinstance(model, keras.Model),
            "output shape": list(logits.shape),
            "outputs are probabilities": bool(np.allclose(logits.sum(1), 1, atol=1e-4) and (logits >= 0).all()),
            "dropout in training mode": not bool(np.allclose(np.asarray(model(x, training=True)), logits)),
            "trainable weight shapes": sorted([list(w.shape) for w in model.trainable_weights]),
            "base features": np.round(features[:, ::37], 4),
        }
    return out


@probe("ft_keras_train_head_tests", judge=_judge_trained(MIN_HEAD_ACC),
       what="train_head on emoji (32 px, 10 labels per class): what it trained, and the held-out accuracy")
def train_head_answers():
    import numpy as np
    import keras
    import tlhelpers.keras as tk
    from tlhelpers import data, emoji

    em = emoji.load_emoji(classes="groups", style="colour", size=32, random_state=0)
    x_pool, y_pool = em.split("train")
    pick = data.few_shot_subset(y_pool, 10, random_state=1234)
    x_val, y_val = em.split("val")
    x_test = em.split("test")[0]
    keras.utils.set_random_seed(1234)
    base = tk.EfficientNetLite0(include_top=False, weights="imagenet", input_shape=(32, 32, 3))
    base.trainable = False
    model = tk.add_head(base, 8, activation=None)
    base_before = [w.copy() for w in base.get_weights()]
    history = train_head(model, tk.preprocess_input(x_pool[pick]), y_pool[pick], tk.preprocess_input(x_val), y_val,
                         5, 3e-3, 16)
    losses = list(getattr(history, "history", {}).get("loss", []))
    return {"returns a History": isinstance(history, keras.callbacks.History),
            "epochs": len(losses),
            "validation loss recorded": "val_loss" in getattr(history, "history", {}),
            "learning rate": float(np.asarray(model.optimizer.learning_rate)) if model.optimizer else None,
            "base unchanged": all(np.array_equal(a, b) for a, b in zip(base_before, base.get_weights())),
            "losses finite": bool(np.all(np.isfinite(losses))),
            "predictions": np.asarray(model.predict(tk.preprocess_input(x_test), verbose=0)).argmax(1)}


@probe("ft_keras_unfreeze_top_tests", what="unfreeze_top(model, k) for k = 3, 0, 1, 16, 7 on a model with a head")
def unfreeze_top_answers():
    import keras
    import tlhelpers.keras as tk

    model = tk.add_head(tk.EfficientNetLite0(include_top=False, weights=None, input_shape=(32, 32, 3)), 5)
    out = {}
    for k in (3, 0, 1, 16, 7):              # in a row on the same model, as a student would call it
        got = unfreeze_top(model, k)
        out[f"k={k}"] = {"returns a keras.Model": isinstance(got, keras.Model),
                         "trainable weights": sorted(w.path for w in model.trainable_weights)}
    base = model.layers[1]
    for layer in base.layers:               # everything trainable first: the function must freeze it all
        layer.trainable = True
    unfreeze_top(model, 2)
    out["k=2 on a fully trainable base"] = sorted(w.path for w in model.trainable_weights)
    return out


@probe("ft_keras_fine_tune_tests", judge=_judge_trained(MIN_FINETUNE_ACC),
       what="fine_tune(model, k=3, lr=3e-5) after a phase 1 of the grader's: what changed, and the accuracy")
def fine_tune_answers():
    import numpy as np
    import keras
    from keras import layers
    import tlhelpers.keras as tk
    from tlhelpers import data, emoji

    def parts(model, base):
        out = {}
        for layer in base.layers:
            if isinstance(layer, layers.BatchNormalization):
                key, values = "bn_statistics", [layer.moving_mean.numpy(), layer.moving_variance.numpy()]
            else:
                key = layer.name.split("_")[0] if layer.name.startswith("block") else layer.name
                values = [w.numpy() for w in layer.weights]
            out.setdefault(key, []).extend(v.ravel().copy() for v in values)
        out["head"] = [w.ravel().copy() for l in model.layers if l is not base for w in l.get_weights()]
        return {key: np.concatenate(v) if v else np.zeros(0) for key, v in out.items()}

    em = emoji.load_emoji(classes="groups", style="colour", size=32, random_state=0)
    x_pool, y_pool = em.split("train")
    pick = data.few_shot_subset(y_pool, 10, random_state=1235)
    x_train, y_train = tk.preprocess_input(x_pool[pick]), y_pool[pick]
    x_val, y_val = em.split("val")
    x_val = tk.preprocess_input(x_val)
    keras.utils.set_random_seed(1234)
    base = tk.EfficientNetLite0(include_top=False, weights="imagenet", input_shape=(32, 32, 3))
    base.trainable = False
    model = tk.add_head(base, 8, activation=None)
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x_train, y_train, epochs=5, batch_size=16, verbose=0)          # the grader's phase 1
    before = parts(model, base)
    history = fine_tune(model, 3, x_train, y_train, x_val, y_val, 2, 3e-5)
    after = parts(model, base)
    losses = list(getattr(history, "history", {}).get("loss", []))
    return {"returns a History": isinstance(history, keras.callbacks.History),
            "epochs": len(losses),
            "learning rate": float(np.asarray(model.optimizer.learning_rate)) if model.optimizer else None,
            "changed parts": sorted(k for k in before if not np.array_equal(before[k], after[k])),
            "losses finite": bool(np.all(np.isfinite(losses))),
            "predictions": np.asarray(model.predict(tk.preprocess_input(em.split("test")[0]), verbose=0)).argmax(1)}


def _judge_choose_k(got, expected):
    """Each k once, in order, from the phase-1 weights; validation accuracies as measured; the best k kept."""
    if not isinstance(got, dict):
        return "the answer has the wrong form"
    for key in ("returns a pair", "ks of the fine_tune calls", "every call from the phase-1 weights"):
        if got.get(key) != expected.get(key):
            return f"{key}: {got.get(key)!r} is not right"
    measured, returned = got["measured validation accuracy"], got["returned validation accuracy"]
    if not isinstance(returned, list) or len(returned) != len(measured) or any(
            not isinstance(r, (int, float)) or abs(r - m) > 1e-6 for r, m in zip(returned, measured)):
        return "the returned validation accuracies are not those of the model after each k"
    ks = expected["ks of the fine_tune calls"]
    best = min(ks, key=lambda k: (-measured[ks.index(k)], k))
    if got["best k"] != best:
        return f"best k is {got['best k']!r}: not the k with the highest validation accuracy (smallest on a tie)"
    if got["validation accuracy of the model left"] is None or \
            abs(got["validation accuracy of the model left"] - measured[ks.index(best)]) > 1e-6:
        return "the model is not left with the weights of the best k"
    return None


@probe("ft_keras_choose_k_tests", judge=_judge_choose_k, what="choose_k on k in [2, 0, 1] with a spy on fine_tune")
def choose_k_answers():
    import numpy as np
    import keras
    import tlhelpers.keras as tk

    global fine_tune
    rng = np.random.default_rng(1234)
    colours = rng.integers(0, 256, (4, 3))
    y = np.repeat(np.arange(4), 6)
    x = tk.preprocess_input(np.clip(colours[y][:, None, None, :] + rng.normal(0, 60, (24, 32, 32, 3)), 0, 255))
    y_val = np.tile(np.arange(4), 3)
    x_val = tk.preprocess_input(np.clip(colours[y_val][:, None, None, :] + rng.normal(0, 60, (12, 32, 32, 3)), 0,
                                        255))
    keras.utils.set_random_seed(1234)
    base = tk.EfficientNetLite0(include_top=False, weights="imagenet", input_shape=(32, 32, 3))
    base.trainable = False
    model = tk.add_head(base, 4, activation=None)
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    phase1 = [w.copy() for w in model.get_weights()]
    real, calls = fine_tune, []

    def recording(m, k, *args, **kwargs):
        start = all(np.array_equal(a, b) for a, b in zip(m.get_weights(), phase1))
        result = real(m, k, *args, **kwargs)
        calls.append([k, start, float((np.asarray(m.predict(x_val, verbose=0)).argmax(1) == y_val).mean())])
        return result

    fine_tune = recording
    try:
        got = choose_k(model, phase1, [2, 0, 1], x, y, x_val, y_val, 1, 1e-3)
    finally:
        fine_tune = real
    pair = isinstance(got, tuple) and len(got) == 2 and isinstance(got[1], dict)
    left = float((np.asarray(model.predict(x_val, verbose=0)).argmax(1) == y_val).mean())
    return {"returns a pair": pair,
            "ks of the fine_tune calls": [c[0] for c in calls],
            "every call from the phase-1 weights": all(c[1] for c in calls),
            "measured validation accuracy": [c[2] for c in calls],
            "returned validation accuracy": [float(got[1].get(c[0], -1)) for c in calls] if pair else None,
            "best k": int(got[0]) if pair and isinstance(got[0], (int, np.integer)) else None,
            "validation accuracy of the model left": left}


@probe("ft_keras_bn_inference_tests", atol=1e-7, what="bn_inference on a small network with a nested model")
def bn_inference_small():
    import numpy as np
    import keras
    from keras import layers

    init = keras.initializers.GlorotUniform
    # Named layers and seeded initialisers: nothing here depends on what else the session built or drew.
    inner = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(4, 3, kernel_initializer=init(1), name="conv_a"),
                              layers.BatchNormalization(name="bn_a"), layers.ReLU(name="relu")], name="inner")
    net = keras.Sequential([keras.Input((8, 8, 3)), inner, layers.Dropout(0.5, name="dropout"),
                            layers.Conv2D(2, 1, kernel_initializer=init(2), name="conv_b"),
                            layers.BatchNormalization(name="bn_b")])
    got = bn_inference(net)
    bns = [inner.get_layer("bn_a"), net.get_layer("bn_b")]
    net(np.random.default_rng(0).normal(3.0, 2.0, (4, 8, 8, 3)).astype("float32"), training=True)
    return {"returns a keras.Model": isinstance(got, keras.Model),
            "layers: name and trainable": [[l.name, bool(l.trainable)] for l in net.layers + inner.layers],
            "moving means after a training-mode call": [np.asarray(l.moving_mean) for l in bns],
            "moving variances after a training-mode call": [np.asarray(l.moving_variance) for l in bns]}


@probe("ft_keras_bn_inference_tests", what="bn_inference on add_head(EfficientNet-Lite0)")
def bn_inference_efficientnet():
    from keras import layers
    import tlhelpers.keras as tk

    inner = tk.EfficientNetLite0(include_top=False, weights=None, input_shape=(32, 32, 3))
    big = tk.add_head(inner, 10)
    big.trainable = True
    for layer in inner.layers:
        layer.trainable = True
    bn_inference(big)
    return {"trainable BatchNorm layers inside the base": sum(bool(l.trainable) for l in inner.layers
                                                              if isinstance(l, layers.BatchNormalization)),
            "head_predictions is trainable": bool(big.get_layer("head_predictions").trainable),
            "trainable weights": sorted(w.path for w in big.trainable_weights)}
