"""Grading probes for feature_extraction_keras.ipynb (how they are used: tlhelpers/grading/probes.py).

Each probe runs in the student's sandboxed kernel right after the test cell it names and returns plain data (what
the student's code produced); the grader compares it with what the same probe returns on the solution. Models are
built inside the probes: random initialisation where only counts and shapes matter (so nothing random reaches the
answer and the notebook's random state is not touched), ImageNet weights where feature values are compared.
"""

from __future__ import annotations

from tlhelpers.grading.probes import compare, probe


@probe("fe_keras_freeze_tests", what="freeze_and_count(EfficientNet-Lite0)")
def freeze_and_count_efficientnet():
    import numpy as np
    import tlhelpers.keras as tk

    model = tk.EfficientNetLite0(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="avg")
    counts = freeze_and_count(model)
    # The types are part of the answer: the exercise asks for a dict of plain ints. A non-dict answer fails on
    # its type, which comes first.
    answer_type = "dict" if isinstance(counts, dict) else type(counts).__name__
    counts = counts if isinstance(counts, dict) else {}
    out = {"type": answer_type, "keys": sorted(str(k) for k in counts),
           "layers with weights left trainable": [l.name for l in model.layers if l.trainable and l.weights],
           "size of the trainable weights left": sum(int(np.prod(w.shape)) for w in model.trainable_weights)}
    out["counts"] = {}
    for key, value in counts.items():
        is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        out["counts"][str(key)] = {"is an int": is_int, "value": int(value) if is_int else None}
    return out


@probe("fe_keras_freeze_tests", what="freeze_and_count(a Dense(3) layer on 7 inputs)")
def freeze_and_count_dense():
    import numpy as np
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((7,)), layers.Dense(3)])
    counts = freeze_and_count(model)
    answer_type = "dict" if isinstance(counts, dict) else type(counts).__name__
    counts = counts if isinstance(counts, dict) else {}     # a non-dict answer fails on its type, named first
    out = {"type": answer_type, "keys": sorted(str(k) for k in counts),
           "size of the trainable weights left": sum(int(np.prod(w.shape)) for w in model.trainable_weights)}
    out["counts"] = {}
    for key, value in counts.items():
        is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        out["counts"][str(key)] = {"is an int": is_int, "value": int(value) if is_int else None}
    return out


def _judge_classifier(got, expected):
    """Same counts and shapes as the solution; each row of probabilities sums to 1 (the Dense weights are random)."""
    if not isinstance(got, dict) or set(got) != set(expected):
        return "the answer has the wrong form"
    for key in expected:
        if key == "row sums of the output for 2 images":
            message = compare(got[key], [1.0, 1.0], rtol=0.0, atol=1e-4, path="the sum of the probabilities in row")
        else:
            message = compare(got[key], expected[key], path=key)
        if message:
            return message
    return None


@probe("fe_keras_head_tests", judge=_judge_classifier, what="build_classifier(base, 7) and build_classifier(base, 3)")
def build_classifier_answers():
    import numpy as np
    import keras
    import tlhelpers.keras as tk

    def size(weights):
        return sum(int(np.prod(w.shape)) for w in weights)

    base = tk.EfficientNetLite0(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="avg")
    base.trainable = True                     # it may come in unfrozen: the function must freeze it
    clf = build_classifier(base, 7)
    out = keras.ops.convert_to_numpy(clf(np.zeros((2, 32, 32, 3), np.float32), training=False))
    base3 = tk.EfficientNetLite0(include_top=False, weights=None, input_shape=(40, 40, 3), pooling="avg")
    clf3 = build_classifier(base3, 3)
    out3 = keras.ops.convert_to_numpy(clf3(np.zeros((1, 40, 40, 3), np.float32)))
    return {"is a keras.Model": isinstance(clf, keras.Model), "output shape for 2 images, 7 classes": list(out.shape),
            "row sums of the output for 2 images": out.sum(axis=1),
            "trainable parameters (7 classes)": size(clf.trainable_weights),
            "non-trainable weights (7 classes)": size(clf.non_trainable_weights),
            "trainable weights left in the base": size(base.trainable_weights),
            "output shape for 1 image of 40 px, 3 classes": list(out3.shape),
            "trainable parameters (3 classes)": size(clf3.trainable_weights)}


@probe("fe_keras_head_params_tests", what="head_params")
def head_params_answer():
    is_int = isinstance(head_params, int) and not isinstance(head_params, bool)
    return {"is an int": is_int, "value": head_params if is_int else None}


@probe("fe_keras_cut_tests", rtol=1e-4, atol=1e-5,
       what="cut_at_block(model, name) for block2b_add, block4c_add, block5c_add, block6d_add, top_activation")
def cut_at_block_answers():
    import numpy as np
    import keras
    import tlhelpers.keras as tk

    # Pretrained weights and image-like inputs, so that the features are not all near zero.
    model = tk.EfficientNetLite0(include_top=False, weights="imagenet", input_shape=(32, 32, 3), pooling="avg")
    images = np.random.default_rng(0).integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    x = tk.preprocess_input(images)
    out = {}
    for name in ("block4c_add", "block2b_add", "block5c_add", "block6d_add", "top_activation"):
        cut = cut_at_block(model, name)
        features = np.asarray(keras.ops.convert_to_numpy(cut(x, training=False)), dtype=np.float64)
        # Values only for a pooled (n, channels) output, written with 7 significant digits: an unpooled feature
        # map would make the answer too long to print (a probe cell's output is capped), and the shape says it all.
        values = [[float(f"{v:.7g}") for v in row] for row in features.tolist()] if features.ndim == 2 else None
        out[name] = {"is a keras.Model": isinstance(cut, keras.Model), "output shape": list(features.shape),
                     "output": values}
    cut = cut_at_block(model, "block4c_add")
    try:
        shares = cut.get_layer("stem_conv") is model.get_layer("stem_conv")
    except ValueError:
        shares = "the cut has no layer called stem_conv"
    out["the cut's stem_conv is the model's own layer"] = shares
    return out
