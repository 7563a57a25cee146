"""02 Keras feature extraction: each exercise's visible test against a table of answers, and the probes' verdict.

For every exercise of ``feature_extraction_keras.ipynb``, a table of answers: common wrong answers (each must fail
the visible test the student sees AND lose exactly its exercise's points in the probes), and right-but-different
answers (each must pass both and keep every point). The answers run in this process with the notebook's imports
(no sandbox: the sandbox is tested in test_grading_*.py); the probes' bodies run here too and their judges decide
against the values the same probes return on the solution, exactly as the grader does.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path

import pytest

from probe_tables import run_probes

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "solutions" / "02_feature_extraction" / "feature_extraction_keras.ipynb"

# answer cell -> the test cells whose points depend on it
DEPENDS = {"fe_keras_freeze": ["fe_keras_freeze_tests"], "fe_keras_head_params": ["fe_keras_head_params_tests"],
           "fe_keras_transfer_model": ["fe_keras_build_tests", "fe_keras_train_tests"],
           "fe_keras_cut": ["fe_keras_cut_tests"]}

SOLUTION_BUILD = '''
def build_transfer_model(num_classes, image_size, dropout=0.2):
    base = tk.EfficientNetLite0(include_top=False, weights="imagenet", input_shape=(image_size, image_size, 3),
                                pooling="avg")
    base.trainable = False
    inputs = keras.Input((image_size, image_size, 3))
    x = base(inputs, training=False)
    x = layers.Dropout(dropout)(x)
    return keras.Model(inputs, layers.Dense(num_classes)(x))
'''
SOLUTION_TRAIN = '''
def train_head(model, train, val, epochs, learning_rate=3e-3, batch_size=32):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model.fit(train[0], train[1], validation_data=val, epochs=epochs, batch_size=batch_size, verbose=0)
'''

# (answer cell, label, source, test cells that must fail: [] for a right answer)
CASES = [
    ("fe_keras_freeze", "counts weight tensors, not numbers", '''
def freeze_and_count(model):
    model.trainable = False
    return {"trainable": len(model.trainable_weights), "non_trainable": len(model.non_trainable_weights)}
''', ["fe_keras_freeze_tests"]),
    ("fe_keras_freeze", "counts without freezing", '''
def freeze_and_count(model):
    return {"trainable": 0, "non_trainable": int(sum(np.prod(w.shape) for w in model.weights))}
''', ["fe_keras_freeze_tests"]),
    ("fe_keras_freeze", "right, layer by layer, count_params", '''
def freeze_and_count(model):
    for layer in model.layers:
        layer.trainable = False
    model.trainable = False
    return {"trainable": 0, "non_trainable": int(model.count_params())}
''', []),
    ("fe_keras_head_params", "forgot the biases", '''
def dense_head_params(n_features, hidden, n_classes):
    return n_features * hidden + hidden * n_classes
''', ["fe_keras_head_params_tests"]),
    ("fe_keras_head_params", "forgot the output layer's bias", '''
def dense_head_params(n_features, hidden, n_classes):
    return n_features * hidden + hidden + hidden * n_classes
''', ["fe_keras_head_params_tests"]),
    ("fe_keras_head_params", "right, (inputs + 1) x outputs per layer", '''
def dense_head_params(n_features, hidden, n_classes):
    return int((n_features + 1) * hidden + (hidden + 1) * n_classes)
''', []),
    ("fe_keras_transfer_model", "base left trainable", SOLUTION_BUILD.replace("    base.trainable = False\n", "")
     + SOLUTION_TRAIN, ["fe_keras_build_tests", "fe_keras_train_tests"]),
    ("fe_keras_transfer_model", "Sequential: base not called with training=False", '''
def build_transfer_model(num_classes, image_size, dropout=0.2):
    base = tk.EfficientNetLite0(include_top=False, weights="imagenet", input_shape=(image_size, image_size, 3),
                                pooling="avg")
    base.trainable = False
    return keras.Sequential([keras.Input((image_size, image_size, 3)), base, layers.Dropout(dropout),
                             layers.Dense(num_classes)])
''' + SOLUTION_TRAIN, ["fe_keras_build_tests"]),
    ("fe_keras_transfer_model", "random weights instead of ImageNet",
     SOLUTION_BUILD.replace('weights="imagenet"', "weights=None") + SOLUTION_TRAIN,
     ["fe_keras_build_tests", "fe_keras_train_tests"]),
    ("fe_keras_transfer_model", "no dropout layer", SOLUTION_BUILD.replace("    x = layers.Dropout(dropout)(x)\n", "")
     + SOLUTION_TRAIN, ["fe_keras_build_tests"]),
    ("fe_keras_transfer_model", "head never trained (no fit)", SOLUTION_BUILD + '''
def train_head(model, train, val, epochs, learning_rate=3e-3, batch_size=32):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return keras.callbacks.History()
''', ["fe_keras_train_tests"]),
    ("fe_keras_transfer_model", "train_head unfreezes the base", SOLUTION_BUILD
     + SOLUTION_TRAIN.replace("    model.compile(", "    for layer in model.layers:\n        layer.trainable = True\n"
                              "    model.compile("),
     ["fe_keras_train_tests"]),
    ("fe_keras_transfer_model", "validation data ignored", SOLUTION_BUILD
     + SOLUTION_TRAIN.replace("validation_data=val, ", ""), ["fe_keras_train_tests"]),
    ("fe_keras_transfer_model", "right, softmax head and RMSprop", '''
def build_transfer_model(num_classes, image_size, dropout=0.2):
    inputs = keras.Input(shape=(image_size, image_size, 3))
    backbone = tk.EfficientNetLite0(include_top=False, weights="imagenet", input_shape=(image_size, image_size, 3),
                                    pooling="avg")
    tk.freeze(backbone)
    features = backbone(inputs, training=False)
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(layers.Dropout(rate=dropout)(features)))


def train_head(model, train, val, epochs, learning_rate=3e-3, batch_size=32):
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = train
    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, validation_data=val, shuffle=True, verbose=0)
    return history
''', []),
    ("fe_keras_cut", "no pooling (the registry's wrong answer)", '''
def cut_at_block(model, layer_name):
    return keras.Model(model.input, model.get_layer(layer_name).output)
''', ["fe_keras_cut_tests"]),
    ("fe_keras_cut", "off by one layer (the layer before)", '''
def cut_at_block(model, layer_name):
    names = [l.name for l in model.layers]
    before = model.layers[names.index(layer_name) - 1]
    return keras.Model(model.input, layers.GlobalAveragePooling2D()(before.output))
''', ["fe_keras_cut_tests"]),
    ("fe_keras_cut", "a new network with random weights", '''
def cut_at_block(model, layer_name):
    fresh = tk.EfficientNetLite0(include_top=False, weights=None, input_shape=model.input.shape[1:], pooling="avg")
    return keras.Model(fresh.input, layers.GlobalAveragePooling2D()(fresh.get_layer(layer_name).output))
''', ["fe_keras_cut_tests"]),
    ("fe_keras_cut", "right, mean over axes with keras.ops", '''
def cut_at_block(model, layer_name):
    feature_map = model.get_layer(layer_name).output
    pooled = layers.Lambda(lambda t: keras.ops.mean(t, axis=(1, 2)))(feature_map)
    return keras.Model(inputs=model.inputs, outputs=pooled)
''', []),
]


def _cells():
    nb = json.loads(NOTEBOOK.read_text())
    answers, tests, points = {}, {}, {}
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        source = "".join(cell["source"])
        if meta.get("solution"):
            answers[meta["grade_id"]] = re.sub(r"\s*### (BEGIN|END) SOLUTION", "", source)
        elif meta.get("grade"):
            tests[meta["grade_id"]] = source.split("### BEGIN HIDDEN TESTS")[0]
            points[meta["grade_id"]] = float(meta["points"])
    return answers, tests, points


def _namespace() -> dict:
    import keras
    import numpy as np
    from keras import layers

    import tlhelpers.keras as tk
    from tlhelpers import checks, data, emoji

    return {"np": np, "keras": keras, "layers": layers, "tk": tk, "checks": checks, "data": data, "emoji": emoji}


def _probe_results(ns: dict, grade_ids: list[str]) -> dict[str, object]:
    """Each probe of these test cells run in ``ns`` as the grader's own probe cell: name -> report, as parsed."""
    from tlhelpers.grading.probes import load_probes, probe_file

    return run_probes(ns, [p for p in load_probes(probe_file(NOTEBOOK)) if p.test_grade_id in grade_ids])


@pytest.fixture(scope="module")
def key():
    """The notebook's cells and the probes' values on the solution (the answer key)."""
    answers, tests, points = _cells()
    ns = _namespace()
    for source in answers.values():
        exec(source, ns)
    reports = _probe_results(ns, list(tests))
    assert all(r["ok"] for r in reports.values()), reports
    return answers, tests, points, {name: r["value"] for name, r in reports.items()}


def _visible_test_passes(ns: dict, source: str) -> bool:
    from tlhelpers.checks import AnswerError

    try:
        exec(source, ns)
    except (AnswerError, AssertionError, TypeError, ValueError, AttributeError, KeyError, IndexError, StopIteration):
        return False
    return True


@pytest.mark.parametrize("answer_id,label,source,must_fail", CASES, ids=[c[1] for c in CASES])
def test_answer_table(key, answer_id, label, source, must_fail):
    from tlhelpers.grading.probes import judge, load_probes, probe_file

    answers, tests, points, expected = key
    ns = _namespace()
    for other_id, other in answers.items():
        exec(textwrap.dedent(source) if other_id == answer_id else other, ns)
    probes = {p.name: p for p in load_probes(probe_file(NOTEBOOK))}
    reports = _probe_results(ns, DEPENDS[answer_id])
    lost = set()
    for name, report in reports.items():
        if judge(probes[name], report, expected[name]) is not None:
            lost.add(probes[name].test_grade_id)
    visible_failed = {gid for gid in DEPENDS[answer_id] if not _visible_test_passes(ns, tests[gid])}
    assert lost == set(must_fail), f"{label}: probes failed {sorted(lost)}, expected {must_fail}"
    assert visible_failed == set(must_fail), f"{label}: visible tests failed {sorted(visible_failed)}"
    kept = sum(pts for gid, pts in points.items() if gid not in lost)
    assert kept == sum(points.values()) - sum(points[g] for g in must_fail)


def test_registry_wrong_answer_fails_visible_test(key):
    """The registry's round-trip wrong answer fails the visible test of its exercise, too."""
    from tlhelpers.registry import load_registry

    answers, tests, _, _ = key
    spec = next(s for s in load_registry() if s.path.as_posix().endswith("feature_extraction_keras.ipynb"))
    wrong = spec.grading["wrong_answer"]
    ns = _namespace()
    for gid, source in answers.items():
        exec(wrong["source"] if gid == wrong["grade_id"] else source, ns)
    assert not any(_visible_test_passes(ns, tests[gid]) for gid in DEPENDS[wrong["grade_id"]])


@pytest.mark.parametrize("probe_seed", [0, 1, 2])
def test_solution_accuracy_spread_above_threshold(key, probe_seed):
    """The end-to-end probe's threshold sits below the solution's held-out accuracy for other probe seeds too."""
    import importlib.util

    import numpy as np

    from tlhelpers.grading.probes import load_probes, probe_file

    answers, _, _, _ = key
    spec = importlib.util.spec_from_file_location("fe_keras_probes", probe_file(NOTEBOOK))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    body = next(p.body for p in load_probes(probe_file(NOTEBOOK)) if p.name == "train_head_on_emoji")
    assert "probe_seed = 20261201" in body
    ns = _namespace()
    for source in answers.values():
        exec(source, ns)
    exec(body.replace("probe_seed = 20261201", f"probe_seed = {probe_seed}"), ns)
    predictions = np.asarray(ns["train_head_on_emoji"]()["test predictions"])
    labels = ns["emoji"].load_emoji(size=module.E2E_SIZE, random_state=0).split("test")[1]
    accuracy = float(np.mean(predictions == labels))
    print(f"probe seed {probe_seed}: held-out accuracy {accuracy:.3f}")
    assert accuracy >= module.E2E_MIN_ACCURACY + 0.03, accuracy
