"""03 fine-tuning (Keras): each exercise's visible test and probes against a table of answers.

Wrong-but-plausible answers (the usual mistakes: k=0 unfreezing everything, forgetting to compile again, a
model that skips a phase, BatchNorm search that does not recurse, ...) must fail the visible test cell the
student runs AND lose that exercise's points in the probes; right-but-different answers (the library's helper,
a base with built-in pooling, ``evaluate`` instead of ``predict``) must pass both. The answers run in this
process with the notebook's own helper cells (no sandbox: what the grader does around the probes is tested by
tests/test_grading_*.py); the key is the solution's probe values, judged exactly as the grader judges them.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import nbformat
import pytest

from probe_tables import run_probes

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "solutions" / "03_fine_tuning" / "fine_tuning_keras.ipynb"
HELPERS = ("P", "eagerly", "predict_classes", "backbone_of", "show_history", "toy_task", "weights_by_block", "changed_parts",
           "spy_on_fine_tune")

PRELUDE = """
from contextlib import contextmanager
import numpy as np
import tensorflow as tf
import keras
from keras import layers
import tlhelpers.keras as tk
from tlhelpers import checks
from tlhelpers.efficientnet_spec import BLOCKS
"""


def _cells():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    answers, tests, helpers = {}, {}, []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            answers[meta["grade_id"]] = cell.source
        elif meta.get("grade"):
            tests[meta["grade_id"]] = cell.source.split("### BEGIN HIDDEN TESTS")[0]
        elif cell.cell_type == "code":
            tree = ast.parse("\n".join(l for l in cell.source.splitlines() if not l.startswith("%")))
            for node in tree.body:
                names = [node.name] if isinstance(node, ast.FunctionDef) else \
                    [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
                if any(n in HELPERS for n in names):
                    helpers.append(ast.unparse(node))
    return answers, tests, "\n\n".join(helpers)


ANSWERS, TESTS, HELPER_SOURCE = _cells()


def _namespace(replace: dict[str, str] | None = None) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")    # as in the notebook: the plain, deterministic kernels
    ns: dict = {}
    exec(PRELUDE, ns)
    exec(HELPER_SOURCE, ns)
    for grade_id, source in ANSWERS.items():
        exec((replace or {}).get(grade_id, source), ns)
    return ns


def _probes(test_id: str):
    from tlhelpers.grading.probes import load_probes

    return [p for p in load_probes(NOTEBOOK.with_name("fine_tuning_keras.probes.py")) if p.test_grade_id == test_id]


def _probe_values(ns: dict, test_id: str) -> dict:
    """Each probe of ``test_id`` run as the grader's own probe cell (``kernel_call``), its report read back."""
    return run_probes(ns, _probes(test_id))


def _lost(ns: dict, test_id: str, key: dict) -> list[str]:
    """The probes of ``test_id`` that the answers in ``ns`` fail (judged as the grader judges)."""
    from tlhelpers.grading.probes import judge

    got = _probe_values(ns, test_id)
    return [p.name for p in _probes(test_id) if judge(p, got[p.name], key[p.name]["value"]) is not None]


def _visible_fails(ns: dict, test_id: str) -> str | None:
    """The error the visible test cell raises, or None when it passes."""
    try:
        exec(TESTS[test_id], ns)
    except Exception as error:  # noqa: BLE001
        return f"{type(error).__name__}: {error}"
    return None


class _Key(dict):
    """The solution's probe values, computed per test cell when first needed (some probes train models)."""

    def __missing__(self, test_id: str) -> dict:
        self[test_id] = _probe_values(_namespace(), test_id)
        return self[test_id]


@pytest.fixture(scope="module")
def key() -> dict:
    return _Key()


WRONG = {
    "count params: expand conv counted in the first block": ("ft_keras_count_params", """
def mbconv_trainable_params(spec):
    return int(spec.in_channels * spec.expanded_channels + spec.expanded_channels * spec.kernel ** 2
               + spec.expanded_channels * spec.out_channels)
"""),
    "build_model: softmax head": ("ft_keras_build_model", """
def build_model(num_classes, input_shape):
    base = tk.EfficientNetLite0(include_top=False, weights="imagenet", input_shape=input_shape)
    base.trainable = False
    inputs = keras.Input(input_shape)
    x = layers.GlobalAveragePooling2D()(base(inputs, training=False))
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(layers.Dropout(0.2)(x)))
"""),
    "build_model: base not frozen": ("ft_keras_build_model", """
def build_model(num_classes, input_shape):
    base = tk.EfficientNetLite0(include_top=False, weights="imagenet", input_shape=input_shape)
    inputs = keras.Input(input_shape)
    x = layers.GlobalAveragePooling2D()(base(inputs, training=False))
    return keras.Model(inputs, layers.Dense(num_classes)(layers.Dropout(0.2)(x)))
"""),
    "build_model: random base (weights=None)": ("ft_keras_build_model", """
def build_model(num_classes, input_shape):
    base = tk.EfficientNetLite0(include_top=False, weights=None, input_shape=input_shape)
    base.trainable = False
    inputs = keras.Input(input_shape)
    x = layers.GlobalAveragePooling2D()(base(inputs, training=False))
    return keras.Model(inputs, layers.Dense(num_classes)(layers.Dropout(0.2)(x)))
"""),
    "train_head: skips training (no fit)": ("ft_keras_train_head", """
def train_head(model, x_train, y_train, x_val, y_val, epochs, lr, batch_size=32):
    model.compile(optimizer=keras.optimizers.Adam(lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=0, verbose=0)
"""),
    "train_head: ignores lr": ("ft_keras_train_head", """
def train_head(model, x_train, y_train, x_val, y_val, epochs, lr, batch_size=32):
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=batch_size,
                     verbose=0)
"""),
    "unfreeze_top: BLOCKS[-k:] (k=0 unfreezes every block)": ("ft_keras_unfreeze_top", """
def unfreeze_top(model, k):
    base = model.layers[1]
    base.trainable = True
    prefixes = tuple(b.name + "_" for b in BLOCKS[-k:])
    for layer in base.layers:
        layer.trainable = layer.name.startswith(prefixes) and not isinstance(layer, layers.BatchNormalization)
    return model
"""),
    "unfreeze_top: BatchNorm unfrozen too": ("ft_keras_unfreeze_top", """
def unfreeze_top(model, k):
    base = model.layers[1]
    base.trainable = True
    prefixes = tuple(b.name + "_" for b in BLOCKS[len(BLOCKS) - k:]) if k else ()
    for layer in base.layers:
        layer.trainable = bool(prefixes) and layer.name.startswith(prefixes)
    return model
"""),
    "fine_tune: does not compile again": ("ft_keras_fine_tune", """
def fine_tune(model, k, x_train, y_train, x_val, y_val, epochs, lr, batch_size=32):
    unfreeze_top(model, k)
    return model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=batch_size,
                     verbose=0)
"""),
    "fine_tune: everything unfrozen": ("ft_keras_fine_tune", """
def fine_tune(model, k, x_train, y_train, x_val, y_val, epochs, lr, batch_size=32):
    unfreeze_top(model, len(BLOCKS))
    model.compile(optimizer=keras.optimizers.Adam(lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=batch_size,
                     verbose=0)
"""),
    "fine_tune: skips phase 2 (no fit)": ("ft_keras_fine_tune", """
def fine_tune(model, k, x_train, y_train, x_val, y_val, epochs, lr, batch_size=32):
    unfreeze_top(model, k)
    model.compile(optimizer=keras.optimizers.Adam(lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model.fit(x_train, y_train, epochs=0, verbose=0)
"""),
    "choose_k: no reset to the phase-1 weights": ("ft_keras_choose_k", """
def choose_k(model, phase1_weights, k_values, x_train, y_train, x_val, y_val, epochs, lr):
    acc, best, best_w = {}, None, None
    for k in k_values:
        fine_tune(model, k, x_train, y_train, x_val, y_val, epochs, lr)
        acc[k] = float((model.predict(x_val, verbose=0).argmax(1) == y_val).mean())
        if best is None or acc[k] > acc[best]:
            best, best_w = k, model.get_weights()
    model.set_weights(best_w)
    return best, acc
"""),
    "choose_k: keeps the last k's weights": ("ft_keras_choose_k", """
def choose_k(model, phase1_weights, k_values, x_train, y_train, x_val, y_val, epochs, lr):
    acc = {}
    for k in k_values:
        model.set_weights(phase1_weights)
        fine_tune(model, k, x_train, y_train, x_val, y_val, epochs, lr)
        acc[k] = float((model.predict(x_val, verbose=0).argmax(1) == y_val).mean())
    return max(acc, key=lambda k: (acc[k], -k)), acc
"""),
    "bn_inference: does not recurse into nested models": ("ft_keras_bn_inference", """
def bn_inference(model):
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = False
    return model
"""),
}

RIGHT = {
    "build_model: base with pooling='avg', no pooling layer": ("ft_keras_build_model", """
def build_model(num_classes, input_shape):
    base = tk.EfficientNetLite0(include_top=False, weights="imagenet", input_shape=input_shape, pooling="avg")
    base.trainable = False
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, layers.Dense(num_classes)(layers.Dropout(0.2)(base(inputs, training=False))))
"""),
    "unfreeze_top: the library's helper": ("ft_keras_unfreeze_top", """
def unfreeze_top(model, k):
    return tk.unfreeze_top_blocks(model, k, include_head_conv=False)
"""),
    "choose_k: evaluate() and >= with a reversed scan": ("ft_keras_choose_k", """
def choose_k(model, phase1_weights, k_values, x_train, y_train, x_val, y_val, epochs, lr):
    acc, weights = {}, {}
    for k in k_values:
        model.set_weights(phase1_weights)
        fine_tune(model, k, x_train, y_train, x_val, y_val, epochs, lr)
        acc[k] = float(np.mean(np.argmax(model.predict(x_val, batch_size=4, verbose=0), axis=1) == y_val))
        weights[k] = model.get_weights()
    best = sorted(acc, key=lambda k: (-acc[k], k))[0]
    model.set_weights(weights[best])
    return best, acc
"""),
    "bn_inference: walks _flatten_layers": ("ft_keras_bn_inference", """
def bn_inference(model):
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    return model
"""),
}


@pytest.mark.parametrize("case", sorted(WRONG))
def test_wrong_answer_fails_visible_test_and_loses_its_points(case, key):
    grade_id, source = WRONG[case]
    ns = _namespace({grade_id: source})
    test_id = grade_id + "_tests"
    assert _visible_fails(ns, test_id), f"{case}: the visible test passes a wrong answer"
    assert _lost(ns, test_id, key[test_id]), f"{case}: the probes give the points to a wrong answer"


@pytest.mark.parametrize("case", sorted(RIGHT))
def test_right_but_different_answer_gets_full_points(case, key):
    grade_id, source = RIGHT[case]
    ns = _namespace({grade_id: source})
    test_id = grade_id + "_tests"
    assert _visible_fails(ns, test_id) is None, f"{case}: the visible test rejects a right answer"
    assert _lost(ns, test_id, key[test_id]) == [], f"{case}: the probes take points from a right answer"


def test_the_solution_passes_every_visible_test_and_probe(key):
    ns = _namespace()
    for test_id in TESTS:
        assert _visible_fails(ns, test_id) is None, test_id
        assert _lost(ns, test_id, key[test_id]) == [], test_id
