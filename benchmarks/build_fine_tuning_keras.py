"""Writes solutions/03_fine_tuning/fine_tuning_keras.ipynb from the cell texts below (outputs empty: execute it
with ``python -m tlhelpers.course reference --only fine_tuning_keras`` afterwards).

Kept in benchmarks/ as the notebook's editable source while it is rebuilt (issue #14); the notebook is the product.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "solutions" / "03_fine_tuning" / "fine_tuning_keras.ipynb"
CELLS: list = []


def md(text: str) -> None:
    CELLS.append(nbformat.v4.new_markdown_cell(text.strip("\n")))


def code(text: str, tags: list[str] | None = None) -> None:
    cell = nbformat.v4.new_code_cell(text.strip("\n"))
    if tags:
        cell.metadata["tags"] = tags
    CELLS.append(cell)


def answer(grade_id: str, text: str) -> None:
    cell = nbformat.v4.new_code_cell(text.strip("\n"))
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3,
                                 "solution": True, "task": False}
    CELLS.append(cell)


def tests(grade_id: str, points: int, text: str) -> None:
    cell = nbformat.v4.new_code_cell(text.strip("\n"))
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "locked": True, "points": points,
                                 "schema_version": 3, "solution": False, "task": False}
    CELLS.append(cell)


# ------------------------------------------------------------------------------------------------------- intro
md(r'''
# 03 · Fine-tuning a pretrained network (Keras)

In assignment 02 the pretrained base stayed frozen and only a new head learned. **Fine-tuning** goes one step
further: after the head has learned, we let the *top* of the base learn as well, slowly, so that its features
adapt to the new task. Done carelessly, fine-tuning destroys the very features we wanted to reuse. The companion
notebook `fine_tuning_pytorch.ipynb` tells the same story with the same weights in PyTorch.

The recipe, in two phases (as in the Keras transfer-learning guide):

1. **Phase 1 (feature extraction).** Freeze the whole base, add a new head, train the head.
2. **Phase 2 (fine-tuning).** Unfreeze the top $k$ blocks of the base, keep the BatchNorm layers in inference
   mode, **compile again** with a learning rate 10 to 100 times lower, train, and choose $k$ on a validation set.

You write that recipe yourself (section 2: `build_model`, `train_head`, `unfreeze_top`, `fine_tune`,
`choose_k`), and **every later section runs your functions**: the accuracies printed below are those of your
model. The target is colour emoji (8 Unicode groups), drawings of objects close to ImageNet's photos;
Fashion-MNIST (grey clothes) is the far-from-ImageNet contrast.

**How to run.** Run all cells from top to bottom (about three minutes on a laptop CPU). *Run All* stops at the
first exercise you have not answered: after answering it, run from that cell on (*Run > Run Selected Cell and
All Below*). The `parameters` cell chooses the profile: `ci` (default), `smoke` (tiny, proves the code runs; the
grader uses it) or `full` (more labels, epochs and blocks; meant for a GPU). A profile changes sizes only, never
the code. Each exercise is followed by a test cell; the grader runs more tests on inputs of its own.
''')
code('''
profile = "ci"        # smoke | ci | full (TLHELPERS_PROFILE overrides this when a tool cannot inject parameters)
seed = 0
metrics_path = None   # papermill sets this to write the notebook's metrics JSON
''', tags=["parameters"])
code(r'''
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"     # silence TensorFlow's C++ start-up log lines
# TensorFlow's oneDNN kernels log a notice on stderr at import (and may change float round-off between runs);
# the plain kernels are deterministic and quiet.
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"

import warnings

import keras  # imported before settings.setup so that it is seeded
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import layers
from matplotlib.ticker import MaxNLocator
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import tlhelpers.keras as tk
from tlhelpers import checks, claims, data, emoji, imagenet, plots, settings
from tlhelpers.efficientnet_spec import BLOCKS

%matplotlib inline

run = settings.setup(profile, seed=seed, metrics_path=metrics_path)   # seeds Python, NumPy and Keras
keras.utils.set_random_seed(seed)
tf.config.experimental.enable_op_determinism()   # same results from one run to the next
tf.get_logger().setLevel("ERROR")   # rebuilding models retraces Keras' functions; TensorFlow warns, harmlessly
threadpool_limits(1, user_api="blas")            # the linear probe is small: one BLAS thread, identical sums
warnings.filterwarnings("ignore", category=ConvergenceWarning)   # tiny `smoke` probes may stop short
warnings.filterwarnings("ignore", message="Even though the `tf.config.experimental_run_functions_eagerly`")

size = run.pick({"smoke": 32, "ci": 96, "full": 96})               # image side in pixels
n_per_class = run.pick({"smoke": 5, "ci": 25, "full": 50})          # labelled training images per class
n_val_fmnist = run.pick({"smoke": 4, "ci": 14, "full": 14})         # Fashion-MNIST validation images per class
n_test_fmnist = run.pick({"smoke": 10, "ci": 41, "full": 41})       # Fashion-MNIST test images per class
epochs_head = run.pick({"smoke": 2, "ci": 6, "full": 20})           # phase 1 epochs
epochs_ft = run.pick({"smoke": 1, "ci": 3, "full": 8})              # phase 2 epochs
k_main = run.pick({"smoke": 1, "ci": 2, "full": 2})                 # blocks unfrozen in the main recipe
k_values = run.pick({"smoke": [0, 1], "ci": [0, 2, 16], "full": [0, 1, 2, 4, 6, 9, 12, 16]})
n_probe = run.pick({"smoke": 40, "ci": 300, "full": 600})         # linear-probe images (half fit, half score)
n_bn = run.pick({"smoke": 16, "ci": 120, "full": 400})             # training images of the BatchNorm comparison
wreck_steps = run.pick({"smoke": 2, "ci": 8, "full": 30})           # steps of the "wrecked features" experiment
epochs_bn = run.pick({"smoke": 1, "ci": 1, "full": 5})              # epochs of the BatchNorm comparison
lr_head, lr_ft = 1e-3, 1e-4                                          # phase 1, phase 2 (10 times lower)
bn_batch_size = 8                                                    # the small batches of the BatchNorm section
print(f"profile {run.profile}: {size}x{size} px, {n_per_class} labels per class, k in {k_values}, "
      f"Keras {keras.__version__} on {keras.backend.backend()}")
''')

# ------------------------------------------------------------------------------------------------------- 1. data
md(r'''
## 1. Data and the pretrained base

**Emoji** (`tlhelpers.emoji`): Noto Color Emoji artwork in the 8 Unicode groups, one item per base emoji
(skin-tone and gender variants are one item), split by item into train / validation / test (60 / 10 / 30 %).
We draw a budget of labels per class from the train split; the validation split is for choices (how many blocks
to unfreeze), the test split only for the final numbers. **Fashion-MNIST** gets the same recipe at the same
budget, its images resized and the grey channel repeated three times, with a validation and a test subset of
about the same sizes as the emoji ones, so that both are measured equally precisely.
''')
code(r'''
em = emoji.load_emoji(classes="groups", style="colour", size=size, random_state=0)
emoji_classes = em.class_names
Xe_pool, ye_pool = em.split("train")
pick_e = data.few_shot_subset(ye_pool, n_per_class, random_state=seed)
Xe_train, ye_train = Xe_pool[pick_e], ye_pool[pick_e]
Xe_val, ye_val = em.split("val")
Xe_test, ye_test = em.split("test")
# Train-split items outside the budget, shuffled (the split is in Unicode order, i.e. sorted by group): section 4
unused_e = np.random.default_rng(seed).permutation(np.setdiff1d(np.arange(len(ye_pool)), pick_e))

f_images, f_labels = data.load_fashion_mnist("train")
f_test_images, f_test_labels = data.load_fashion_mnist("test")
drawn = data.few_shot_subset(f_labels, n_per_class + n_val_fmnist, random_state=seed)
by_class = [drawn[f_labels[drawn] == c] for c in range(10)]
f_train_idx = np.concatenate([m[:n_per_class] for m in by_class])
f_val_idx = np.concatenate([m[n_per_class:] for m in by_class])
f_test_idx = data.few_shot_subset(f_test_labels, n_test_fmnist, random_state=0)
Xf_train, yf_train = imagenet.grey_to_rgb(f_images[f_train_idx], size), f_labels[f_train_idx].astype(np.int64)
Xf_val, yf_val = imagenet.grey_to_rgb(f_images[f_val_idx], size), f_labels[f_val_idx].astype(np.int64)
Xf_test, yf_test = imagenet.grey_to_rgb(f_test_images[f_test_idx], size), f_test_labels[f_test_idx].astype(np.int64)

for name, (tr, va, te) in {"emoji": (ye_train, ye_val, ye_test), "Fashion-MNIST": (yf_train, yf_val, yf_test)
                           }.items():
    se = np.sqrt(0.25 / len(te))
    print(f"{name}: train {len(tr)} ({n_per_class} per class), validation {len(va)}, test {len(te)} images; "
          f"standard error of a test accuracy near 0.5: {se:.3f}")
print("emoji training images per class:", dict(zip(emoji_classes, np.bincount(ye_train).tolist())))
fig = plots.show_images(Xe_train[np.argsort(ye_train, kind="stable")[::n_per_class]],
                        np.sort(ye_train)[::n_per_class], [c.split(" ")[0] for c in emoji_classes], ncols=8,
                        size=1.3)
plt.show()
''')
code(r'''
P = tk.preprocess_input     # 0-255 RGB -> (x - 127) / 128, what EfficientNet-Lite0 was trained on


def predict_classes(model, images):
    """Predicted class of each image (images 0-255 RGB; preprocessed here)."""
    return np.asarray(model.predict(P(images), batch_size=128, verbose=0)).argmax(1)


def backbone_of(model):
    """The EfficientNet-Lite0 inside `model` (a model nested as a layer)."""
    for layer in model.layers:
        if any(l.name == "block1a_dwconv" for l in getattr(layer, "layers", [])):
            return layer
    raise ValueError("no EfficientNet-Lite0 inside this model")


def show_history(history, name):
    """Print the loss of each epoch; return whether every loss is finite."""
    losses = history.history["loss"]
    val = history.history.get("val_accuracy", [np.nan] * len(losses))
    print(f"{name}: " + ", ".join(f"epoch {i + 1} loss {l:.3f} (val acc {v:.3f})"
                                  for i, (l, v) in enumerate(zip(losses, val))))
    return bool(np.all(np.isfinite(losses)))


base = tk.EfficientNetLite0(include_top=False, weights="imagenet", input_shape=(size, size, 3))
print(f"EfficientNet-Lite0: {len(BLOCKS)} MBConv blocks, from {BLOCKS[0].name} to {BLOCKS[-1].name}, "
      f"then top_conv (1x1, 320 -> 1280 channels); {tk.count_params(base)['total']:,} parameters")
''')

# ------------------------------------------------------------------------------------------------------- 2. recipe
md(r'''
## 2. The two-phase recipe, written by you

### Exercise 1 (2 points): count the parameters of a block by hand

Before unfreezing blocks, know what it costs. An MBConv block (see `_mbconv` in `tlhelpers/keras.py`) has, in
order: a 1×1 *expand* convolution from `in_channels` to `expanded_channels` (only when `expand_ratio != 1`), a
`kernel`×`kernel` *depthwise* convolution (one filter per channel), and a 1×1 *project* convolution to
`out_channels`. None of the convolutions has a bias; each is followed by a BatchNormalization. Write
`mbconv_trainable_params(spec)`: the number of parameters that become trainable when the block is fine-tuned with
BatchNorm frozen (the convolution weights only), from the `BlockSpec` fields `in_channels`, `expanded_channels`,
`kernel`, `out_channels`, `expand_ratio`.
''')
answer("ft_keras_count_params", r'''
def mbconv_trainable_params(spec):
    """Number of convolution weights of an MBConv block described by `spec` (a BlockSpec)."""
    ### BEGIN SOLUTION
    expand = spec.in_channels * spec.expanded_channels if spec.expand_ratio != 1 else 0
    depthwise = spec.expanded_channels * spec.kernel * spec.kernel
    project = spec.expanded_channels * spec.out_channels
    return int(expand + depthwise + project)
    ### END SOLUTION
''')
tests("ft_keras_count_params_tests", 2, r'''
checks.check_type(mbconv_trainable_params(BLOCKS[-1]), (int, np.integer), "mbconv_trainable_params(BLOCKS[-1])")
_net = tk.EfficientNetLite0(include_top=False, weights=None, input_shape=(32, 32, 3))
for _spec in (BLOCKS[-1], BLOCKS[0]):      # the last block, and the first (expand_ratio 1: no expand conv)
    _measured = sum(int(np.prod(w.shape)) for l in _net.layers if l.name.startswith(_spec.name + "_")
                    and isinstance(l, (layers.Conv2D, layers.DepthwiseConv2D)) for w in l.weights)
    checks.check_equal(mbconv_trainable_params(_spec), _measured, f"mbconv_trainable_params for {_spec.name}",
                       hint="expand (in x mid, only if expand_ratio != 1) + depthwise (mid x kernel x kernel) "
                            "+ project (mid x out); no biases, no BatchNorm")
print(f"Exercise 1: visible tests passed ({BLOCKS[-1].name}: {mbconv_trainable_params(BLOCKS[-1]):,} weights).")
### BEGIN HIDDEN TESTS
for _spec in BLOCKS:
    _w = sum(int(np.prod(w.shape)) for l in _net.layers
             if l.name.startswith(_spec.name + "_") and isinstance(l, (layers.Conv2D, layers.DepthwiseConv2D))
             for w in l.weights)
    checks.check_equal(mbconv_trainable_params(_spec), _w, f"mbconv_trainable_params for {_spec.name}")
### END HIDDEN TESTS
''')

md(r'''
### Exercise 2 (2 points): the model, with a frozen base

Write `build_model(num_classes, input_shape)`: a new `keras.Model` whose input is a preprocessed image of
`input_shape`, made of

* the ImageNet-pretrained base `tk.EfficientNetLite0(include_top=False, weights="imagenet",
  input_shape=input_shape)`, **frozen** (`base.trainable = False`) and called as `base(inputs, training=False)`
  (the Keras guide's advice; section 5 shows what that argument does and does not do in this Keras version),
* global average pooling, `layers.Dropout(0.2)`, and a new `layers.Dense(num_classes)` that returns **logits**
  (no softmax: the loss will be told `from_logits=True`).
''')
answer("ft_keras_build_model", r'''
def build_model(num_classes, input_shape):
    """Frozen ImageNet EfficientNet-Lite0 -> global average pooling -> dropout 0.2 -> Dense(num_classes) logits."""
    ### BEGIN SOLUTION
    base = tk.EfficientNetLite0(include_top=False, weights="imagenet", input_shape=input_shape)
    base.trainable = False
    inputs = keras.Input(input_shape)
    x = base(inputs, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(num_classes)(x)
    return keras.Model(inputs, outputs)
    ### END SOLUTION
''')
tests("ft_keras_build_model_tests", 2, r'''
_m = build_model(3, (32, 32, 3))
checks.check_type(_m, keras.Model, "build_model(3, (32, 32, 3))")
_x = P(np.random.default_rng(1).integers(0, 256, (4, 32, 32, 3)))
_out = np.asarray(_m(_x, training=False))
checks.check_shape(_out, (4, 3), "build_model(3, ...)(images)")
if np.allclose(_out.sum(1), 1.0, atol=1e-4) and (_out >= 0).all():
    raise checks.AnswerError("the model's outputs look like probabilities: return logits (no softmax).")
checks.check_equal(tk.count_params(_m)["trainable"], 1280 * 3 + 3, "trainable parameters of build_model(3, ...)",
                   hint="only the new Dense layer should be trainable: set base.trainable = False")
_ref = tk.EfficientNetLite0(include_top=False, weights="imagenet", input_shape=(32, 32, 3), pooling="avg")
_f = np.asarray(backbone_of(_m)(_x, training=False))
checks.check_close(_f.mean((1, 2)) if _f.ndim == 4 else _f, np.asarray(_ref(_x)), "the base's pooled features",
                   atol=1e-4, hint="use the ImageNet weights: weights='imagenet'")
if np.allclose(np.asarray(_m(_x, training=True)), _out):
    raise checks.AnswerError("training-mode outputs equal inference-mode ones: is the Dropout(0.2) layer there?")
print("Exercise 2: visible tests passed.")
''')

md(r'''
### Exercise 3 (2 points): phase 1, train the head

Write `train_head(model, x_train, y_train, x_val, y_val, epochs, lr, batch_size=32)`: compile `model` with
`keras.optimizers.Adam(lr)`, the loss `keras.losses.SparseCategoricalCrossentropy(from_logits=True)` and the
metric `"accuracy"`, fit it for `epochs` epochs (validation data `(x_val, y_val)`, `verbose=0`) and return the
`History` that `fit` returns. The images arrive preprocessed.
''')
answer("ft_keras_train_head", r'''
def train_head(model, x_train, y_train, x_val, y_val, epochs, lr, batch_size=32):
    """Phase 1: compile with Adam(lr) and cross-entropy on logits, fit, return the History."""
    ### BEGIN SOLUTION
    model.compile(optimizer=keras.optimizers.Adam(lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=batch_size,
                     verbose=0)
    ### END SOLUTION
''')
code(r'''
from contextlib import contextmanager


@contextmanager
def eagerly():
    """Run Keras' fit and predict step by step, without tracing them into graphs: for the tiny tests below that is
    several times cheaper than tracing a 250-layer network for a few steps."""
    tf.config.run_functions_eagerly(True)
    try:
        yield
    finally:
        tf.config.run_functions_eagerly(False)


def toy_task(n_classes=3, n_per_class=8, side=32, seed=0):
    """A tiny task the tests use: each class is a colour (plus noise); images preprocessed, labels 0..n-1."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(0, 256, (n_classes, 3))
    y = np.repeat(np.arange(n_classes), n_per_class)
    x = colours[y][:, None, None, :] + rng.normal(0, 25, (len(y), side, side, 3))
    return P(np.clip(x, 0, 255)), y
''')
tests("ft_keras_train_head_tests", 2, r'''
_x, _y = toy_task(seed=1)
keras.utils.set_random_seed(0)
_m = build_model(3, (32, 32, 3))
_base_before = [w.copy() for w in backbone_of(_m).get_weights()]
_head_before = _m.layers[-1].get_weights()[0].copy()
with eagerly():
    _h = train_head(_m, _x, _y, _x[::2], _y[::2], epochs=3, lr=3e-3)
checks.check_type(_h, keras.callbacks.History, "train_head(...)")
checks.check_equal(len(_h.history["loss"]), 3, "epochs trained by train_head(..., epochs=3)")
if "val_loss" not in _h.history:
    raise checks.AnswerError("fit got no validation data: pass validation_data=(x_val, y_val).")
checks.check_close(float(_m.optimizer.learning_rate), 3e-3, "the optimizer's learning rate", rtol=1e-6)
if not all(np.array_equal(a, b) for a, b in zip(_base_before, backbone_of(_m).get_weights())):
    raise checks.AnswerError("the base changed during phase 1: it must stay frozen.")
if np.array_equal(_head_before, _m.layers[-1].get_weights()[0]):
    raise checks.AnswerError("the head did not change: did you call fit?")
if not _h.history["loss"][-1] < _h.history["loss"][0]:
    raise checks.AnswerError("the loss did not decrease: check the loss (from_logits=True for logits).")
print("Exercise 3: visible tests passed.")
''')

md(r'''
### Exercise 4 (3 points): unfreeze the top k blocks, keep BatchNorm frozen

Write `unfreeze_top(model, k)` for a model built by `build_model`: inside its base, make the layers of the
**top `k` blocks** trainable **except** their BatchNormalization layers; every other layer of the base
(`stem_conv`, lower blocks, `top_conv`) frozen; the head stays trainable. `k = 0` leaves the base fully frozen,
`k = 16` unfreezes every block. A block's layers are named after it: those of `BLOCKS[-1].name` (`"block7a"`)
are `block7a_expand_conv`, `block7a_bn`, ... (all start with `"block7a_"`). Return `model`.

Two Keras details: the base is a model nested inside `model` (find it among `model.layers`); and a model whose
`trainable` is `False` reports no trainable weights whatever its layers say, so set `base.trainable = True` first,
then choose layer by layer. A frozen BatchNorm layer runs in inference mode (its ImageNet statistics), even in
`fit` (section 5).
''')
answer("ft_keras_unfreeze_top", r'''
def unfreeze_top(model, k):
    """Inside the base of `model`: the non-BatchNorm layers of the top k blocks trainable, the rest frozen."""
    ### BEGIN SOLUTION
    base = next(l for l in model.layers if any(s.name == "block1a_dwconv" for s in getattr(l, "layers", [])))
    prefixes = tuple(b.name + "_" for b in BLOCKS[len(BLOCKS) - k:]) if k > 0 else ()
    base.trainable = True
    for layer in base.layers:
        layer.trainable = (bool(prefixes) and layer.name.startswith(prefixes)
                           and not isinstance(layer, layers.BatchNormalization))
    return model
    ### END SOLUTION
''')
tests("ft_keras_unfreeze_top_tests", 3, r'''
_m = build_model(3, (32, 32, 3))
_ref = tk.add_head(tk.EfficientNetLite0(include_top=False, weights=None, input_shape=(32, 32, 3)), 3)
for _k in (2, 0, 16):
    checks.check_type(unfreeze_top(_m, _k), keras.Model, f"unfreeze_top(model, {_k})")
    _want = tk.count_params(tk.unfreeze_top_blocks(_ref, _k, include_head_conv=False))["trainable"]
    checks.check_equal(tk.count_params(_m)["trainable"], _want, f"trainable parameters after unfreeze_top(model, {_k})",
                       hint="the top k blocks' convolutions + the head; k=0: only the head; nothing outside the "
                            "blocks (stem_conv, top_conv); set base.trainable = True before choosing layer by layer")
    _bns = [l.name for l in backbone_of(_m).layers if isinstance(l, layers.BatchNormalization) and l.trainable]
    if _bns:
        raise checks.AnswerError(f"BatchNorm layer {_bns[0]} is trainable after k={_k}: keep BatchNorm frozen.")
print("Exercise 4: visible tests passed.")
''')

md(r'''
### Exercise 5 (3 points): phase 2, fine-tune at a lower learning rate

Write `fine_tune(model, k, x_train, y_train, x_val, y_val, epochs, lr, batch_size=32)`: unfreeze the top `k`
blocks with your `unfreeze_top`, **compile again** (in Keras a change of `trainable` takes effect at the next
`compile`, and a new optimizer carries the new learning rate) with `Adam(lr)`, the same loss and metric as in
phase 1, fit for `epochs` epochs with the validation data, and return the `History`. The caller passes the lower
learning rate (here `lr_ft = lr_head / 10`).
''')
answer("ft_keras_fine_tune", r'''
def fine_tune(model, k, x_train, y_train, x_val, y_val, epochs, lr, batch_size=32):
    """Phase 2: unfreeze the top k blocks (BatchNorm frozen), compile again with Adam(lr), fit, return the History."""
    ### BEGIN SOLUTION
    unfreeze_top(model, k)
    model.compile(optimizer=keras.optimizers.Adam(lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=batch_size,
                     verbose=0)
    ### END SOLUTION
''')
code(r'''
def weights_by_block(model):
    """{block name or 'stem'/'top_conv'/'head'/'bn_statistics': concatenated weights} of a build_model model."""
    base, out = backbone_of(model), {}
    for layer in base.layers:
        if isinstance(layer, layers.BatchNormalization):
            key = "bn_statistics"
            values = [layer.moving_mean.numpy(), layer.moving_variance.numpy()]
        else:
            key = layer.name.split("_")[0] if layer.name.startswith("block") else layer.name
            values = [w.numpy() for w in layer.weights]
        out.setdefault(key, []).extend(v.ravel() for v in values)
    out["head"] = [w.ravel() for l in model.layers if l is not base for w in l.get_weights()]
    return {key: np.concatenate(v) if v else np.zeros(0) for key, v in out.items()}


def changed_parts(before, after):
    """The parts of the network whose weights differ between two weights_by_block results."""
    return sorted(key for key in before if not np.array_equal(before[key], after[key]))
''')
tests("ft_keras_fine_tune_tests", 3, r'''
_x, _y = toy_task(seed=2)
keras.utils.set_random_seed(0)
_m = build_model(3, (32, 32, 3))
_m.compile(optimizer=keras.optimizers.Adam(3e-3),           # as after phase 1: an optimizer at another rate
           loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
_before = weights_by_block(_m)
with eagerly():
    _h = fine_tune(_m, 1, _x, _y, _x[::2], _y[::2], epochs=1, lr=1e-4)
checks.check_type(_h, keras.callbacks.History, "fine_tune(...)")
checks.check_close(float(_m.optimizer.learning_rate), 1e-4, "the optimizer's learning rate after fine_tune",
                   rtol=1e-6, hint="compile again with keras.optimizers.Adam(lr): the phase-1 optimizer keeps "
                                   "its learning rate")
checks.check_equal(changed_parts(_before, weights_by_block(_m)), sorted([BLOCKS[-1].name, "head"]),
                   "the parts of the network that fine_tune(model, k=1) changed",
                   hint="only the top block's convolutions and the head may change; BatchNorm statistics "
                        "('bn_statistics') must stay fixed (frozen BatchNorm)")
print("Exercise 5: visible tests passed.")
''')

md(r'''
### Exercise 6 (2 points): choose k on the validation split

Write `choose_k(model, phase1_weights, k_values, x_train, y_train, x_val, y_val, epochs, lr)`: for each `k` in
`k_values`, put the phase-1 weights back (`model.set_weights(phase1_weights)`: every `k` starts from the same
trained head, not from the previous `k`'s result), fine-tune with **your `fine_tune`**, and measure the accuracy
on the **validation** images (the test split is never used for a choice). Return `(best_k, val_accuracy)` with
`val_accuracy` a dict `{k: accuracy}`, `best_k` the `k` with the highest validation accuracy (the smallest such
`k` on a tie: fewer weights changed), and leave `model` with the weights of `best_k` (keep them with
`model.get_weights()` when a `k` beats the best so far).
''')
answer("ft_keras_choose_k", r'''
def choose_k(model, phase1_weights, k_values, x_train, y_train, x_val, y_val, epochs, lr):
    """Fine-tune from the phase-1 weights for each k; return (best k on validation, {k: validation accuracy})."""
    ### BEGIN SOLUTION
    val_accuracy, best_k, best_weights = {}, None, None
    for k in k_values:
        model.set_weights(phase1_weights)
        fine_tune(model, k, x_train, y_train, x_val, y_val, epochs, lr)
        predicted = np.asarray(model.predict(x_val, verbose=0)).argmax(1)
        val_accuracy[k] = float((predicted == np.asarray(y_val)).mean())
        if best_k is None or val_accuracy[k] > val_accuracy[best_k]:
            best_k, best_weights = k, model.get_weights()
    model.set_weights(best_weights)
    return best_k, val_accuracy
    ### END SOLUTION
''')
code(r'''
def spy_on_fine_tune(phase1_weights, x_val, y_val):
    """Wrap the global fine_tune to record, for each call, k, whether it started from `phase1_weights` and the
    validation accuracy right after it. Returns (calls, undo)."""
    global fine_tune
    real, calls = fine_tune, []

    def recording(model, k, *args, **kwargs):
        start = all(np.array_equal(a, b) for a, b in zip(model.get_weights(), phase1_weights))
        history = real(model, k, *args, **kwargs)
        correct = np.asarray(model.predict(x_val, verbose=0)).argmax(1) == y_val
        calls.append({"k": k, "from phase 1": start, "val accuracy": float(correct.mean()), "val correct": correct})
        return history

    def undo():
        global fine_tune
        fine_tune = real

    fine_tune = recording
    return calls, undo
''')
tests("ft_keras_choose_k_tests", 2, r'''
_x, _y = toy_task(seed=3)
_xv, _yv = _x[:12], np.array([0] * 6 + [1] * 3 + [2] * 3)   # validation labels of our own: the heads below decide
keras.utils.set_random_seed(0)
_m = build_model(3, (32, 32, 3))
_w1 = _m.get_weights()
_calls = []


def _fake_fine_tune(model, k, *args, **kwargs):
    """Stands in for fine_tune: records the call, then sets a head that predicts class 0 for k = 1 (6 of the 12
    validation images right) and class 1 for any other k (3 of 12)."""
    _calls.append((k, all(np.array_equal(a, b) for a, b in zip(model.get_weights(), _w1))))
    kernel, bias = model.layers[-1].get_weights()
    bias = np.full_like(bias, -100.0)
    bias[0 if k == 1 else 1] = 100.0
    model.layers[-1].set_weights([np.zeros_like(kernel), bias])


_real_fine_tune, fine_tune = fine_tune, _fake_fine_tune
try:
    with eagerly():
        _got = choose_k(_m, _w1, [1, 0], _x, _y, _xv, _yv, 1, 1e-4)
finally:
    fine_tune = _real_fine_tune
checks.check_type(_got, tuple, "choose_k(...)")
_best, _accs = _got
checks.check_equal([c[0] for c in _calls], [1, 0], "the k of each call to fine_tune",
                   hint="call your fine_tune once per k, in the order of k_values")
if not all(c[1] for c in _calls):
    raise checks.AnswerError("a fine_tune call did not start from the phase-1 weights: set_weights(phase1_weights) "
                             "before each k.")
checks.check_close([_accs[1], _accs[0]], [0.5, 0.25], "val_accuracy", atol=1e-6,
                   hint="the accuracy of the model on (x_val, y_val) right after fine-tuning with that k")
checks.check_equal(_best, 1, "best_k", hint="the k with the highest validation accuracy")
with eagerly():
    _left = float((np.asarray(_m.predict(_xv, verbose=0)).argmax(1) == _yv).mean())
checks.check_close(_left, 0.5, "the validation accuracy of the model choose_k leaves", atol=1e-6,
                   hint="leave the model with the weights of best_k, not those of the last k")
print("Exercise 6: visible tests passed.")
''')

md(r'''
### Your model on emoji

The next cells run your functions: phase 1 on the emoji budget, then phase 2 with the top `k_main` blocks. The
loss of every epoch is printed (and checked to be finite), and the test accuracy comes with its 95 % Wilson
interval.
''')
code(r'''
keras.utils.set_random_seed(seed)
model = build_model(len(emoji_classes), (size, size, 3))
h1 = train_head(model, P(Xe_train), ye_train, P(Xe_val), ye_val, epochs_head, lr_head)
finite = show_history(h1, "phase 1 (head)")
phase1_weights = model.get_weights()
pred_phase1 = predict_classes(model, Xe_test)
phase1_test_acc = run.record("phase1_test_acc", float((pred_phase1 == ye_test).mean()))
print(f"phase 1 test accuracy: {claims.wilson_interval(pred_phase1 == ye_test, show=False)}")

h2 = fine_tune(model, k_main, P(Xe_train), ye_train, P(Xe_val), ye_val, epochs_ft, lr_ft)
finite &= show_history(h2, f"phase 2 (top {k_main} blocks, lr {lr_ft:g})")
pred_ft = predict_classes(model, Xe_test)
finetune_test_acc = run.record("finetune_test_acc", float((pred_ft == ye_test).mean()))
_ = run.record("student_model_test_acc", finetune_test_acc)
print(f"your two-phase model, test accuracy: {claims.wilson_interval(pred_ft == ye_test, show=False)}")
checks.check_equal(finite, True, "every training loss is finite")
''')

# ------------------------------------------------------------------------------------------------ 3. FT vs FE
md(r'''
## 3. Fine-tuning vs feature extraction

Phase 1 alone *is* feature extraction (a frozen base and a trained head), so the two models above are compared on
the same test images by McNemar's exact test, which looks only at the images one gets right and the other not.
The same recipe runs on Fashion-MNIST, at the same budget. The claims below say what the comparison supports in
this run; the table over seeds (`benchmarks/fine_tuning_keras_seeds.py`) gives the spread. Fine-tuning can only
help when the features it changes limit the head *and* there are enough labels to change them without
overfitting: a few hundred images and three epochs at a tenth of the head's learning rate move the top blocks only
a little.
''')
code(r'''
keras.utils.set_random_seed(seed)
f_model = build_model(10, (size, size, 3))
hf1 = train_head(f_model, P(Xf_train), yf_train, P(Xf_val), yf_val, epochs_head, lr_head)
f_pred_phase1 = predict_classes(f_model, Xf_test)
hf2 = fine_tune(f_model, k_main, P(Xf_train), yf_train, P(Xf_val), yf_val, epochs_ft, lr_ft)
f_finite = show_history(hf1, "Fashion-MNIST phase 1") & show_history(hf2, "Fashion-MNIST phase 2")
f_pred_ft = predict_classes(f_model, Xf_test)

results = {}
for target, (p1, p2, y) in {"emoji": (pred_phase1, pred_ft, ye_test),
                            "Fashion-MNIST": (f_pred_phase1, f_pred_ft, yf_test)}.items():
    results[target] = claims.mcnemar_exact(p2 == y, p1 == y, show=False)
    print(f"{target}: fine-tuning vs feature extraction: {results[target]}")
_ = run.record("fmnist_phase1_test_acc", results["Fashion-MNIST"].accuracy_b)
_ = run.record("fmnist_finetune_test_acc", results["Fashion-MNIST"].accuracy_a)
_ = run.record("finetune_minus_feature_extraction",
           results["emoji"].accuracy_a - results["emoji"].accuracy_b)
_ = run.record("fmnist_finetune_minus_feature_extraction",
           results["Fashion-MNIST"].accuracy_a - results["Fashion-MNIST"].accuracy_b)
checks.check_equal(f_finite, True, "every Fashion-MNIST training loss is finite")
''')
code(r'''
e_test, f_test = results["emoji"], results["Fashion-MNIST"]
claims.claim("finetune_beats_feature_extraction",
             "On emoji, two-phase fine-tuning beats feature extraction (McNemar's test on the test split, p < 0.05)",
             holds=bool(e_test.accuracy_a > e_test.accuracy_b and e_test.p_value < 0.05), evidence=e_test)
claims.claim("fmnist_finetune_not_below_feature_extraction",
             "On Fashion-MNIST, at the same budget, fine-tuning does not score below feature extraction (no "
             "significant loss by McNemar's test); whether its gain is significant varies with the seed",
             holds=bool(not (f_test.accuracy_a < f_test.accuracy_b and f_test.p_value < 0.05)), evidence=f_test)
''')

# ------------------------------------------------------------------------------------------------ 4. wrecked
md(r'''
## 4. Why the head comes first: random head vs trained head

The recipe trains the head before unfreezing anything. The usual explanation: a *random* head sends large,
meaningless gradients back into the base and overwrites its pretrained features before the head has learned
anything. We isolate that cause: two runs that differ **only in the head**, random (fresh `build_model`) or
trained (the phase-1 weights), with the **same** optimizer (Adam), learning rate (the phase-1 rate
`lr_head`, the classic mistake of fine-tuning at the head's rate), unfrozen depth (every block, BatchNorm frozen),
batches and steps. The loss of each step is printed and checked to be finite: a loss that turns `nan` or `inf` is
a numerical blow-up, not forgetting, and is reported as such.

Both runs start from pretrained features; only what flows back from the head differs. **Feature quality** is
measured by a *linear probe*: a logistic regression on the base's pooled features, fit
on half of the train-split emoji that are **not** in the training budget and scored on the other half. Only the
base that produces the features changes.
''')
code(r'''
probe_x = P(Xe_pool[unused_e[:n_probe]])
probe_y = ye_pool[unused_e[:n_probe]]
half = len(probe_y) // 2


def probe_accuracy(model):
    """Linear probe of the pooled features of the base inside `model` (fit on one half, scored on the other)."""
    feats = np.asarray(backbone_of(model).predict(probe_x, batch_size=128, verbose=0))
    feats = feats.mean((1, 2)) if feats.ndim == 4 else feats
    scaler = StandardScaler().fit(feats[:half])
    clf = LogisticRegression(C=0.5, max_iter=300).fit(scaler.transform(feats[:half]), probe_y[:half])
    return clf.predict(scaler.transform(feats[half:])) == probe_y[half:]


probe_pretrained = probe_accuracy(build_model(len(emoji_classes), (size, size, 3)))
print(f"linear probe of the pretrained features: {probe_pretrained.mean():.3f} on {len(probe_pretrained)} images")

wreck = {}
order = np.random.default_rng(seed).permutation(len(ye_train))
for head in ("random", "trained"):
    keras.utils.set_random_seed(seed)
    m = build_model(len(emoji_classes), (size, size, 3))
    if head == "trained":
        m.set_weights(phase1_weights)
    unfreeze_top(m, len(BLOCKS))
    m.compile(optimizer=keras.optimizers.Adam(lr_head),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    losses = []
    for step in range(wreck_steps):
        batch = order[(step * 16) % len(order):][:16]
        losses.append(float(m.train_on_batch(P(Xe_train[batch]), ye_train[batch])))
    wreck[head] = {"losses": losses, "finite": bool(np.all(np.isfinite(losses))), "probe": probe_accuracy(m)}
    print(f"{head} head, every block unfrozen, Adam lr {lr_head:g}: loss per step "
          + " ".join(f"{l:.2f}" for l in losses)
          + f"; all finite: {wreck[head]['finite']}; probe accuracy {wreck[head]['probe'].mean():.3f}")
_ = run.record("random_head_final_loss_finite", wreck["random"]["finite"])
_ = run.record("probe_pretrained", float(probe_pretrained.mean()))
_ = run.record("probe_after_random_head", float(wreck["random"]["probe"].mean()))
_ = run.record("probe_after_trained_head", float(wreck["trained"]["probe"].mean()))
''')
code(r'''
wreck_test = claims.mcnemar_exact(wreck["trained"]["probe"], wreck["random"]["probe"], show=False)
claims.claim("random_head_loss_finite",
             "Every loss of both runs is finite: what the probe measures is not a numerical blow-up",
             holds=wreck["random"]["finite"] and wreck["trained"]["finite"],
             evidence={"random head losses": wreck["random"]["losses"],
                       "trained head losses": wreck["trained"]["losses"]})
damage_test = claims.mcnemar_exact(probe_pretrained, wreck["random"]["probe"], show=False)
claims.claim("random_head_damages_features",
             "Fine-tuning every block at the head's learning rate from a random head leaves worse features than the "
             "pretrained ones (linear probe, McNemar on the probe's scoring images)",
             holds=bool(damage_test.accuracy_a > damage_test.accuracy_b and damage_test.p_value < 0.05),
             evidence={"pretrained vs after the random head": damage_test})
claims.claim("random_head_not_better_than_trained",
             "With everything else equal, the random head does not leave better features than the trained head; "
             "whether it leaves significantly worse ones at this probe size is in the evidence (McNemar)",
             holds=bool(not (wreck_test.accuracy_b > wreck_test.accuracy_a and wreck_test.p_value < 0.05)),
             evidence={"trained head vs random head": wreck_test, "pretrained probe": float(probe_pretrained.mean())})
''')

# ------------------------------------------------------------------------------------------------ 5. BatchNorm
md(r'''
## 5. BatchNorm: inference mode during fine-tuning

A BatchNorm layer normalises with the mean and variance of the **current batch** in training mode, and with its
stored **moving statistics** in inference mode; in training mode it also moves those statistics towards the
batches it sees. The Keras guide calls the base with `training=False` and freezes it. What does each of the two
do in the Keras version of this course? The cell below measures it on a small network: a BatchNorm layer inside
a model called with `training=False`, first **trainable**, then **frozen**.
''')
code(r'''
def bn_demo(frozen):
    """A nested model with one BatchNorm, called with training=False inside an outer model; fit one epoch.
    Returns (outputs in fit's training mode equal inference mode?, moving mean moved during fit?)."""
    keras.utils.set_random_seed(0)
    inner_in = keras.Input((4,))
    inner = keras.Model(inner_in, layers.BatchNormalization(name="bn")(layers.Dense(4)(inner_in)))
    inner.get_layer("bn").trainable = not frozen
    outer_in = keras.Input((4,))
    outer = keras.Model(outer_in, layers.Dense(2)(inner(outer_in, training=False)))
    x = np.random.default_rng(0).normal(3.0, 2.0, (32, 4)).astype("float32")
    same = bool(np.allclose(outer(x, training=True), outer(x, training=False)))
    before = inner.get_layer("bn").moving_mean.numpy().copy()
    outer.compile(optimizer="sgd", loss="mse")
    outer.fit(x, np.zeros((32, 2)), epochs=1, batch_size=8, verbose=0)
    return same, bool(not np.allclose(before, inner.get_layer("bn").moving_mean.numpy()))


bn_demo_results = {}
for frozen in (False, True):
    same, moved = bn_demo(frozen)
    bn_demo_results["frozen" if frozen else "trainable"] = (same, moved)
    print(f"BatchNorm {'frozen   ' if frozen else 'trainable'}, base called with training=False: training-mode "
          f"outputs equal inference-mode outputs: {same}; moving mean moved during fit: {moved}")
''')
code(r'''
claims.claim("training_false_alone_does_not_freeze_bn",
             f"In Keras {keras.__version__}, calling the base with training=False does not keep a trainable "
             "BatchNorm layer in inference mode inside fit (fit's training=True wins and its moving mean moves); a "
             "frozen BatchNorm layer (trainable=False) stays in inference mode",
             holds=bn_demo_results["trainable"] == (False, True) and bn_demo_results["frozen"] == (True, False),
             evidence={"trainable BN (same outputs, moved)": list(bn_demo_results["trainable"]),
                       "frozen BN (same outputs, moved)": list(bn_demo_results["frozen"])})
''')
md(r'''
Now the effect on fine-tuning. From the same phase-1 weights, we fine-tune the top `k_main` blocks on batches of
8 images (a part of the training budget, to keep it cheap) twice, with the same steps and learning rate: once with BatchNorm frozen (inference mode, as
`unfreeze_top` leaves it), once with the BatchNorm layers of those blocks made trainable (training mode: batch
statistics, moving statistics updated).
''')
code(r'''
def bn_means(m):
    return np.concatenate([l.moving_mean.numpy() for l in backbone_of(m).layers
                           if isinstance(l, layers.BatchNormalization)])


bn_runs = {}
for mode in ("inference", "training"):
    keras.utils.set_random_seed(seed)
    m = build_model(len(emoji_classes), (size, size, 3))
    m.set_weights(phase1_weights)
    unfreeze_top(m, k_main)
    if mode == "training":
        chosen = tuple(b.name + "_" for b in BLOCKS[len(BLOCKS) - k_main:])
        for layer in backbone_of(m).layers:
            if isinstance(layer, layers.BatchNormalization) and layer.name.startswith(chosen):
                layer.trainable = True
    before = bn_means(m)
    m.compile(optimizer=keras.optimizers.Adam(lr_ft),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    h = m.fit(P(Xe_train[:n_bn]), ye_train[:n_bn], validation_data=(P(Xe_val), ye_val), epochs=epochs_bn,
              batch_size=bn_batch_size, verbose=0)
    show_history(h, f"BatchNorm in {mode} mode, batches of {bn_batch_size}")
    moved = float(np.linalg.norm(bn_means(m) - before) / np.linalg.norm(before))
    bn_runs[mode] = {"correct": predict_classes(m, Xe_test) == ye_test, "moved": moved}
    print(f"  test accuracy {bn_runs[mode]['correct'].mean():.3f}; moving means moved by {100 * moved:.1f}% "
          "(relative norm of the change)")
bn_test = claims.mcnemar_exact(bn_runs["inference"]["correct"], bn_runs["training"]["correct"], show=False)
print(f"BatchNorm inference vs training mode: {bn_test}")
_ = run.record("bn_inference_acc", bn_test.accuracy_a)
_ = run.record("bn_training_acc", bn_test.accuracy_b)
''')
code(r'''
claims.claim("bn_training_mode_no_better",
             f"On batches of {bn_batch_size}, BatchNorm in training mode does not beat inference mode (no significant "
             "gain by McNemar's test), and only training mode moves the moving statistics",
             holds=bool(not (bn_test.accuracy_b > bn_test.accuracy_a and bn_test.p_value < 0.05)
                        and bn_runs["inference"]["moved"] == 0.0 and bn_runs["training"]["moved"] > 0.0),
             evidence={"inference vs training": bn_test, "moved (inference, training)":
                       [bn_runs["inference"]["moved"], bn_runs["training"]["moved"]]})
''')
md(r'''
### Exercise 7 (2 points): keep BatchNorm in inference mode

Write `bn_inference(model)`: make every `layers.BatchNormalization` layer inside `model` non-trainable (a frozen
BatchNorm layer runs in inference mode, even during `fit`, as measured above), and leave every other layer as it
is. A model can contain models (`build_model` puts the whole base inside as one layer): look inside those too
(a model's sub-layers are in its `.layers`). Return `model`. Compile again afterwards for it to take effect.
''')
answer("ft_keras_bn_inference", r'''
def bn_inference(model):
    """Make every BatchNormalization layer inside `model` (nested models included) non-trainable; return it."""
    ### BEGIN SOLUTION
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = False
        elif hasattr(layer, "layers"):
            bn_inference(layer)
    return model
    ### END SOLUTION
''')
tests("ft_keras_bn_inference_tests", 2, r'''
_inner = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(4, 3), layers.BatchNormalization(), layers.ReLU()],
                          name="inner")
_net = keras.Sequential([keras.Input((8, 8, 3)), _inner, layers.Dropout(0.5), layers.Conv2D(2, 1),
                         layers.BatchNormalization()])
checks.check_type(bn_inference(_net), keras.Model, "bn_inference(net)")
_all = [l for l in _net.layers] + [l for l in _inner.layers]
for _l in _all:
    if isinstance(_l, layers.BatchNormalization) and _l.trainable:
        raise checks.AnswerError(f"BatchNorm layer {_l.name} is still trainable"
                                 + (" (inside the nested model: look into its .layers too)" if _l in _inner.layers
                                    else "") + ".")
if not (_inner.layers[0].trainable and _net.layers[2].trainable and _inner.trainable):
    raise checks.AnswerError("only BatchNorm layers should change: convolutions and nested models stay trainable.")
print("Exercise 7: visible tests passed.")
''')

# ------------------------------------------------------------------------------------------------ 6. choose k
md(r'''
## 6. How many blocks to unfreeze?

More unfrozen blocks means more capacity to adapt, but also more weights to fit with the same few labels. Your
`choose_k` fine-tunes from the same phase-1 weights for each $k$ up to the whole network (16 blocks), with the
same learning rate and epochs, and picks $k$ on the validation split; the test split then gives the accuracy of
the chosen model once. $k = 0$ is phase 2 with nothing unfrozen: the head trained for more epochs at the lower
rate, starting from phase 1, so it should land close to phase 1 (a claim below checks it). Read the
curve against the validation set's size: one validation image is worth about 0.7 points, so differences of a few
points between neighbouring $k$ are within its noise, and the claims below state only what holds.
''')
code(r'''
keras.utils.set_random_seed(seed)
k_model = build_model(len(emoji_classes), (size, size, 3))
k_model.set_weights(phase1_weights)
phase1_val_correct = predict_classes(k_model, Xe_val) == ye_val
k_calls, undo = spy_on_fine_tune(phase1_weights, P(Xe_val), ye_val)   # records each k's validation accuracy
try:
    chosen_k, val_acc_by_k = choose_k(k_model, phase1_weights, k_values, P(Xe_train), ye_train, P(Xe_val), ye_val,
                                      epochs_ft, lr_ft)
finally:
    undo()
for k in k_values:
    print(f"k = {k:2d}: validation accuracy {val_acc_by_k[k]:.3f}")
pred_chosen = predict_classes(k_model, Xe_test)
_ = run.record("chosen_k", int(chosen_k))
chosen_k_test_acc = run.record("chosen_k_test_acc", float((pred_chosen == ye_test).mean()))
print(f"chosen k = {chosen_k}; phase 1 on the validation split: {phase1_val_correct.mean():.3f}; test accuracy "
      f"of the chosen model: {claims.wilson_interval(pred_chosen == ye_test, show=False)}")

fig, ax = plt.subplots(figsize=(6, 3.2))
ax.plot(k_values, [val_acc_by_k[k] for k in k_values], "o-", label="fine-tuned top k blocks")
ax.axhline(phase1_val_correct.mean(), color="grey", ls="--", label="phase 1 (feature extraction)")
ax.xaxis.set_major_locator(MaxNLocator(integer=True))
ax.set_xticks(k_values)
ax.set_xlabel("unfrozen blocks k")
ax.set_ylabel("validation accuracy")
ax.set_title(f"Emoji, {n_per_class} labels per class, {size} px")
ax.legend()
plt.show()
''')
code(r'''
k0 = next(c for c in k_calls if c["k"] == 0)
k0_test = claims.mcnemar_exact(k0["val correct"], phase1_val_correct, show=False)
claims.claim("k0_close_to_phase1",
             "k = 0 (the head trained for more epochs at the lower rate, nothing unfrozen) does not differ "
             "significantly from phase 1 on the validation split",
             holds=k0_test.p_value >= 0.05, evidence=k0_test)
chosen_test = claims.mcnemar_exact(pred_chosen == ye_test, pred_phase1 == ye_test, show=False)
claims.claim("chosen_k_not_below_phase1",
             "The model with the k chosen on validation does not score below phase 1 on the test split (no "
             "significant loss by McNemar's test)",
             holds=bool(not (chosen_test.accuracy_a < chosen_test.accuracy_b and chosen_test.p_value < 0.05)),
             evidence={"chosen k": int(chosen_k), "chosen vs phase 1": chosen_test,
                       "validation accuracy by k": {str(k): val_acc_by_k[k] for k in k_values}})
''')
md(r'''
## Summary

* Train the head first on a frozen base, then unfreeze the top blocks, **compile again** with a learning rate
  10 times lower, and choose how many blocks on a validation split, never on the test split.
* What fine-tuning bought over feature extraction, on each target, is stated by the claims of sections 3 and 6
  from this run's numbers, never by a number typed in the text.
* With every block unfrozen at the head's learning rate, section 4 compares what a random and a trained head
  leave of the features (the loss is checked for blow-ups: the damage is not a numerical accident). Compare both
  with the pretrained probe: at the head's learning rate even a trained head costs features, which is why phase
  2 also lowers the rate.
* Keep BatchNorm frozen while fine-tuning on small batches: in this Keras version that, not `training=False`,
  is what keeps BatchNorm in inference mode (section 5).
''')


def main(path: Path = NOTEBOOK) -> None:
    """Write the notebook (no outputs) to ``path``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    nb.cells = CELLS
    nbformat.write(nb, path)
    print(f"wrote {path} ({len(CELLS)} cells)")


if __name__ == "__main__":
    import sys

    main(Path(sys.argv[1]) if len(sys.argv) > 1 else NOTEBOOK)
