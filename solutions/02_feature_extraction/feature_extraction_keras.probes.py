"""Grading probes for feature_extraction_keras.ipynb (how they are used: tlhelpers/grading/probes.py).

Each probe runs in the student's sandboxed kernel right after the test cell it names and returns plain data (what
the student's code produced); the grader compares it with what the same probe returns on the solution, or a
``judge`` decides in the grader's process. Models are built inside the probes on sizes the exercise text does not
give (so constants copied from the text do not pass), with ImageNet weights wherever feature values are compared.

The end-to-end exercise (``build_transfer_model`` + ``train_head``) is judged by behaviour: the built model's
outputs with the probe's own head weights on the probe's own images, and the accuracy of the model the student's
``train_head`` trains on held-out emoji. That probe returns only the predicted classes; the judge loads the labels
itself in the grader's process and compares the accuracy with a threshold set from the solution's spread.
"""

from __future__ import annotations

from tlhelpers.grading.judges import held_out_accuracy
from tlhelpers.grading.probes import compare, probe

#: The end-to-end probe: emoji at this size, this many labels per class, this many epochs (smoke-sized).
E2E_SIZE, E2E_PER_CLASS, E2E_EPOCHS = 64, 10, 5
#: Minimum held-out accuracy of the student's trained model (8 classes, chance 0.125; 412 held-out emoji, SE about
#: 0.024). The solution scored 0.405, 0.459 and 0.381 with probe seeds 0, 1, 2 (mean 0.415, sd 0.040; measured by
#: tests/test_fe_keras_exercises.py): the threshold sits two sd below the lowest. A head left untrained or a base
#: trained along with it score far lower (the exercise table in that test).
E2E_MIN_ACCURACY = 0.30


@probe("fe_keras_freeze_tests", what="freeze_and_count(EfficientNet-Lite0 at 40 px)")
def freeze_and_count_efficientnet():
    import numpy as np
    import tlhelpers.keras as tk

    model = tk.EfficientNetLite0(include_top=False, weights=None, input_shape=(40, 40, 3), pooling="avg")
    counts = freeze_and_count(model)
    answer_type = "dict" if isinstance(counts, dict) else type(counts).__name__
    counts = counts if isinstance(counts, dict) else {}
    out = {"type": answer_type, "keys": sorted(str(k) for k in counts),
           "layers with weights left trainable": [l.name for l in model.layers if l.trainable and l.weights],
           "size of the trainable weights left": sum(int(np.prod(w.shape)) for w in model.trainable_weights),
           "counts": {}}
    for key, value in counts.items():
        is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        out["counts"][str(key)] = {"is an int": is_int, "value": int(value) if is_int else None}
    return out


@probe("fe_keras_freeze_tests", what="freeze_and_count(a small convolutional model with BatchNorm)")
def freeze_and_count_small():
    import numpy as np
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((9, 9, 2)), layers.Conv2D(5, 3), layers.BatchNormalization(),
                              layers.Flatten(), layers.Dense(6)])
    counts = freeze_and_count(model)
    answer_type = "dict" if isinstance(counts, dict) else type(counts).__name__
    counts = counts if isinstance(counts, dict) else {}
    out = {"type": answer_type, "keys": sorted(str(k) for k in counts),
           "size of the trainable weights left": sum(int(np.prod(w.shape)) for w in model.trainable_weights),
           "counts": {}}
    for key, value in counts.items():
        is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        out["counts"][str(key)] = {"is an int": is_int, "value": int(value) if is_int else None}
    return out


@probe("fe_keras_head_params_tests", what="dense_head_params on three heads")
def dense_head_params_answers():
    out = {}
    for args in [(37, 19, 7), (1280, 256, 10), (5, 1, 3)]:
        value = dense_head_params(*args)
        is_int = isinstance(value, int) and not isinstance(value, bool)
        out[str(args)] = {"is an int": is_int, "value": value if is_int else None}
    return out


def _judge_transfer_model(got, expected):
    """Same structure as the solution; outputs equal the solution's logits, or their softmax (both are allowed)."""
    import numpy as np

    if not isinstance(got, dict) or set(got) != set(expected):
        return "the answer has the wrong form"
    for key in expected:
        if key == "outputs with the probe's head weights":
            logits = np.asarray(expected[key], dtype=np.float64)
            soft = np.exp(logits - logits.max(axis=1, keepdims=True))
            soft /= soft.sum(axis=1, keepdims=True)
            try:
                out = np.asarray(got[key], dtype=np.float64)
            except (TypeError, ValueError):
                return f"{key}: not an array of numbers"
            if out.shape != logits.shape:
                return f"{key}: shape {list(out.shape)} is wrong"
            if not (np.allclose(out, logits, rtol=1e-3, atol=1e-3) or np.allclose(out, soft, rtol=1e-3, atol=1e-3)):
                return (f"{key}: not the new Dense layer on the frozen ImageNet base's pooled features (neither logits "
                        "nor their softmax)")
        else:
            message = compare(got[key], expected[key], path=key)
            if message:
                return message
    return None


@probe("fe_keras_build_tests", judge=_judge_transfer_model,
       what="build_transfer_model(11, 64, dropout=0.35): structure, and outputs with the probe's head weights")
def build_transfer_model_answers():
    import numpy as np
    import keras
    from keras import layers
    import tlhelpers.keras as tk

    model = build_transfer_model(11, 64, dropout=0.35)
    out = {"is a keras.Model": isinstance(model, keras.Model)}
    dense = [l for l in model.layers if isinstance(l, layers.Dense)]
    bases = [l for l in model.layers if isinstance(l, keras.Model)]
    out["trainable parameters"] = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    out["dropout rates"] = [float(l.rate) for l in model.layers if isinstance(l, layers.Dropout)]
    out["base called with training"] = [n.arguments.kwargs.get("training") for b in bases for n in b._inbound_nodes]
    rng = np.random.default_rng(20261201)
    x = tk.preprocess_input(rng.integers(0, 256, size=(3, 64, 64, 3)).astype(np.uint8))
    # The probe's own head weights, so that the outputs can be compared with the key's.
    dense[-1].set_weights([rng.normal(0, 0.05, size=(1280, 11)).astype(np.float32),
                           rng.normal(0, 0.1, size=11).astype(np.float32)])
    for layer in model.layers:
        if isinstance(layer, layers.Dropout):
            layer.rate = 0.0
    inference = np.asarray(keras.ops.convert_to_numpy(model(x, training=False)), dtype=np.float64)
    training = np.asarray(keras.ops.convert_to_numpy(model(x, training=True)), dtype=np.float64)
    out["outputs with the probe's head weights"] = inference
    out["training mode gives the inference outputs (dropout off)"] = bool(np.allclose(training, inference,
                                                                                      rtol=1e-4, atol=1e-4))
    return out


def _check_training(got, expected):
    """What train_head did besides the accuracy (judged by :func:`held_out_accuracy` below)."""
    if not isinstance(got, dict):
        return "the answer has the wrong form"
    if got.get("the history has 5 epochs of loss and of val_loss") is not True:
        return "train_head should fit for `epochs` epochs with `val` as validation data and return the History"
    if got.get("the base's weights and statistics unchanged by train_head") is not True:
        return "train_head changed the base's weights or BatchNorm statistics: the base must stay frozen"
    return None


#: The student's predictions for the held-out emoji, scored in the grader against labels the kernel never sent.
_judge_emoji_accuracy = held_out_accuracy(
    E2E_MIN_ACCURACY, size=E2E_SIZE, random_state=0, key="test predictions", check=_check_training,
    subject="the model your functions built and trained",
    hint="check that train_head trains the new head (compile, fit for `epochs`)")


@probe("fe_keras_train_tests", judge=_judge_emoji_accuracy,
       what="build_transfer_model + train_head on 10 emoji per class: accuracy on held-out emoji")
def train_head_on_emoji():
    import numpy as np
    import keras
    import tlhelpers.keras as tk
    from tlhelpers import data, emoji

    probe_seed = 20261201
    emo = emoji.load_emoji(classes="groups", style="colour", size=64, random_state=0)
    x_tr, y_tr = emo.split("train")
    x_va, y_va = emo.split("val")
    x_te = emo.split("test")[0]
    idx = data.few_shot_subset(y_tr, 10, random_state=probe_seed)
    keras.utils.set_random_seed(probe_seed)
    model = build_transfer_model(len(emo.class_names), 64)
    bases = [l for l in model.layers if isinstance(l, keras.Model)]
    before = [np.array(keras.ops.convert_to_numpy(w)) for b in bases for w in b.weights]
    history = train_head(model, (tk.preprocess_input(x_tr[idx]), y_tr[idx]), (tk.preprocess_input(x_va), y_va), 5)
    logged = history.history if isinstance(history, keras.callbacks.History) else {}
    after = [np.array(keras.ops.convert_to_numpy(w)) for b in bases for w in b.weights]
    unchanged = bool(before) and all(np.array_equal(a, b) for a, b in zip(before, after))
    scores = keras.ops.convert_to_numpy(model.predict(tk.preprocess_input(x_te), verbose=0))
    return {"test predictions": [int(k) for k in np.argmax(scores, axis=1)],
            "the base's weights and statistics unchanged by train_head": unchanged,
            "the history has 5 epochs of loss and of val_loss": len(logged.get("loss", [])) == 5
            and len(logged.get("val_loss", [])) == 5}


@probe("fe_keras_cut_tests", rtol=1e-4, atol=1e-5,
       what="cut_at_block(model, name) for block2b_add, block4c_add, block5c_add, block6d_add, top_activation")
def cut_at_block_answers():
    import numpy as np
    import keras
    import tlhelpers.keras as tk

    # Pretrained weights and image-like inputs, so that the features are not all near zero.
    model = tk.EfficientNetLite0(include_top=False, weights="imagenet", input_shape=(40, 40, 3), pooling="avg")
    images = np.random.default_rng(7).integers(0, 256, size=(2, 40, 40, 3), dtype=np.uint8)
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
