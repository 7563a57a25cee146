"""Grading probes for fine_tuning_keras.ipynb (how they are used: tlhelpers/grading/probes.py).

Each probe runs in the student's sandboxed kernel right after the test cell it names and returns plain data (what
the student's code produced); the grader compares it with what the same probe returns on the solution. The models
are built inside the probes; only which weights are trainable, and BatchNorm statistics that must not move, are
read from them, so the random initialisation never reaches an answer (the small network's initialisers are seeded
and the notebook's global random state is not touched).
"""

from __future__ import annotations

from tlhelpers.grading.probes import probe


@probe("ft_keras_unfreeze_top_tests", what="unfreeze_top(backbone, k) for k = 2, 0, 1, 3, 16 on one backbone")
def unfreeze_top_answers():
    import numpy as np
    import keras
    import tlhelpers.keras as tk

    net = tk.EfficientNetLite0(include_top=False, weights=None, input_shape=(32, 32, 3))
    out = {}
    for k in (2, 0, 1, 3, 16):              # in a row on the same backbone, as the test cell does
        got = unfreeze_top(net, k)
        out[f"k={k}"] = {"returns a keras.Model": isinstance(got, keras.Model),
                         "trainable parameters": sum(int(np.prod(w.shape)) for w in net.trainable_weights),
                         "trainable weights": [w.path for w in net.trainable_weights]}
    net.trainable = True                    # everything trainable first: the function must freeze it all
    for layer in net.layers:
        layer.trainable = True
    unfreeze_top(net, 1)
    out["k=1 on a fully trainable backbone"] = [w.path for w in net.trainable_weights]
    return out


def _judge_phase_two_lr(got, expected):
    """Any learning rate 10 to 100 times lower than the phase-1 one passes (the solution's 1/30 is one choice)."""
    if not isinstance(got, list) or len(got) != len(expected):
        return "the answer has the wrong form"
    for (one, is_number, two), _ in zip(got, expected):
        if not is_number:
            return f"phase_two_lr({one:g}) should be a float, got a {two}"
        if not one / 100 * (1 - 1e-9) <= two <= one / 10 * (1 + 1e-9):
            return (f"phase_two_lr({one:g}) is {two:g}: it should be 10 to 100 times lower, "
                    f"in [{one / 100:g}, {one / 10:g}]")
    return None


@probe("ft_keras_phase2_lr_tests", judge=_judge_phase_two_lr, what="phase_two_lr")
def phase_two_lr_answers():
    out = []
    for one in (1e-3, 1e-2, 3e-3, 0.1, 5e-4):
        two = phase_two_lr(one)
        is_number = isinstance(two, (float, int)) and not isinstance(two, bool)
        out.append([one, is_number, float(two) if is_number else type(two).__name__])
    return out


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


@probe("ft_keras_bn_inference_tests", atol=1e-7, what="bn_inference on a small network")
def bn_inference_small():
    import numpy as np
    import keras
    from keras import layers

    init = keras.initializers.GlorotUniform
    # Named layers and seeded initialisers: nothing here depends on what else the session built or drew.
    net = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(4, 3, kernel_initializer=init(1), name="conv_a"),
                            layers.BatchNormalization(name="bn_a"), layers.ReLU(name="relu"),
                            layers.Dropout(0.5, name="dropout"),
                            layers.Conv2D(2, 1, kernel_initializer=init(2), name="conv_b"),
                            layers.BatchNormalization(name="bn_b")])
    got = bn_inference(net)
    bns = [l for l in net.layers if isinstance(l, layers.BatchNormalization)]
    net(np.random.default_rng(0).normal(3.0, 2.0, (4, 8, 8, 3)).astype("float32"), training=True)
    return {"returns a keras.Model": isinstance(got, keras.Model),
            "layers: name and trainable": [[l.name, bool(l.trainable)] for l in net.layers],
            # A frozen BatchNorm keeps its initial statistics (zeros and ones) through a training-mode call.
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
            "trainable weights": [w.path for w in big.trainable_weights]}
