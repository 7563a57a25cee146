"""03 fine-tuning (PyTorch): the visible tests and the grading probes against a table of answers.

Each answer below replaces one exercise's answer cell of the solution notebook. It runs in-process (no sandbox):
the answer cell, then the visible part of its test cell, then that cell's probes through the same serializer and
judges the grader uses (:mod:`tlhelpers.grading.probes`), against the probes' values on the solution (the key).

- every *wrong-but-plausible* answer fails the visible test (a student sees it before submitting) and fails its
  own test cell's probes (loses exactly that cell's points: the probes of other cells do not call it, or replace it
  with the key while they run);
- every *right-but-different* answer passes both.
"""

from __future__ import annotations

import contextlib
import io
import json
import textwrap
from functools import lru_cache
from pathlib import Path

import nbformat
import pytest

from probe_tables import run_probes

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "solutions" / "03_fine_tuning" / "fine_tuning_pytorch.ipynb"

PRELUDE = """
import copy
import numpy as np
import torch
from torch import nn
import tlhelpers.torch as tt
from tlhelpers import checks
from tlhelpers.efficientnet_spec import BLOCKS
torch.set_num_threads(1)
"""


def _cells():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    answers, tests, helpers = {}, {}, None
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            answers[meta["grade_id"]] = cell.source
        elif meta.get("grade"):
            tests[meta["grade_id"]] = cell.source.split("### BEGIN HIDDEN TESTS")[0]
        elif cell.cell_type == "code" and "def predict(" in cell.source:
            helpers = cell.source[cell.source.index("def predict("):]
    return answers, tests, helpers


def _namespace(replace: dict[str, str] | None = None) -> dict:
    answers, _, helpers = _cells()
    ns: dict = {}
    exec(PRELUDE, ns)
    exec(helpers, ns)
    for grade_id, source in answers.items():
        exec((replace or {}).get(grade_id, source), ns)
    return ns


@lru_cache(maxsize=None)
def _probes():
    from tlhelpers.grading.probes import load_probes, probe_file

    return load_probes(probe_file(NOTEBOOK))


def _reports(ns: dict, test_grade_id: str) -> dict:
    return run_probes(ns, [p for p in _probes() if p.test_grade_id == test_grade_id])


@lru_cache(maxsize=None)
def _key(test_grade_id: str) -> str:
    reports = _reports(_namespace(), test_grade_id)
    assert all(r and r["ok"] for r in reports.values()), reports
    return json.dumps({name: r["value"] for name, r in reports.items()})


def _verdicts(ns: dict, test_grade_id: str) -> dict[str, str | None]:
    from tlhelpers.grading.probes import judge

    expected = json.loads(_key(test_grade_id))
    reports = _reports(ns, test_grade_id)
    return {p.name: judge(p, reports[p.name], expected[p.name], reveal=False)
            for p in _probes() if p.test_grade_id == test_grade_id}


def _visible(ns: dict, test_grade_id: str) -> Exception | None:
    _, tests, _ = _cells()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(tests[test_grade_id], ns)
    except Exception as error:  # noqa: BLE001 - any failure of the visible test counts
        return error
    return None


def d(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


WRONG = {
    "build_model: random weights": ("ft_torch_build_model", d("""
        def build_model(num_classes):
            base = tt.efficientnet_lite0(weights=None, include_top=False, pooling="avg")
            tt.freeze(base)
            return tt.add_head(base, num_classes)
        """)),
    "build_model: base left trainable": ("ft_torch_build_model", d("""
        def build_model(num_classes):
            return tt.add_head(tt.efficientnet_lite0(weights="imagenet", include_top=False), num_classes)
        """)),
    "build_model: 8 classes hard-coded": ("ft_torch_build_model", d("""
        def build_model(num_classes):
            return tt.add_head(tt.freeze(tt.efficientnet_lite0(weights="imagenet", include_top=False)), 8)
        """)),
    "train: no optimizer step": ("ft_torch_train", d("""
        def train(model, train_data, val_data, epochs, lr, batch_size=32):
            images, labels = train_data
            optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
            history = {"loss": [], "val_accuracy": []}
            for _ in range(epochs):
                model.train()
                loss = nn.functional.cross_entropy(model(tt.preprocess_input(images)), torch.as_tensor(labels))
                optimizer.zero_grad()
                loss.backward()
                history["loss"].append(loss.item())
                history["val_accuracy"].append(accuracy(model, *val_data))
            return history
        """)),
    "train: optimizer over the head only": ("ft_torch_train", d("""
        def train(model, train_data, val_data, epochs, lr, batch_size=32):
            images, labels = train_data
            optimizer = torch.optim.Adam(model.head.parameters(), lr=lr)
            history = {"loss": [], "val_accuracy": []}
            for _ in range(epochs):
                model.train()
                for start in range(0, len(images), batch_size):
                    loss = nn.functional.cross_entropy(model(tt.preprocess_input(images[start:start + batch_size])),
                                                       torch.as_tensor(labels[start:start + batch_size]))
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                history["loss"].append(loss.item())
                history["val_accuracy"].append(accuracy(model, *val_data))
            return history
        """)),
    "unfreeze_top: blocks[-k:] with k = 0": ("ft_torch_unfreeze_top", d("""
        def unfreeze_top(model, k):
            backbone = model.base
            for p in backbone.parameters():
                p.requires_grad_(False)
            for module in list(backbone.blocks[-k:]) + [backbone.head.conv]:
                for m in module.modules():
                    if not isinstance(m, nn.BatchNorm2d):
                        for p in m.parameters(recurse=False):
                            p.requires_grad_(True)
            return model
        """)),
    "unfreeze_top: BatchNorm unfrozen too": ("ft_torch_unfreeze_top", d("""
        def unfreeze_top(model, k):
            backbone = model.base
            for p in backbone.parameters():
                p.requires_grad_(False)
            if k:
                for module in list(backbone.blocks[-k:]) + [backbone.head.conv]:
                    for p in module.parameters():
                        p.requires_grad_(True)
            return model
        """)),
    "unfreeze_top: does not freeze first": ("ft_torch_unfreeze_top", d("""
        def unfreeze_top(model, k):
            backbone = model.base
            if k:
                for module in list(backbone.blocks[-k:]) + [backbone.head.conv]:
                    for m in module.modules():
                        if not isinstance(m, nn.BatchNorm2d):
                            for p in m.parameters(recurse=False):
                                p.requires_grad_(True)
            return model
        """)),
    "choose_k: fine-tunes the model it was given": ("ft_torch_choose_k", d("""
        def choose_k(model, k_values, train_data, val_data, epochs, lr):
            val_acc, models = {}, {}
            for k in k_values:
                unfreeze_top(model, k)
                train(model, train_data, val_data, epochs, lr)
                val_acc[k], models[k] = accuracy(model, *val_data), model
            return max(val_acc, key=val_acc.get), val_acc, models
        """)),
    "choose_k: chooses on the training data": ("ft_torch_choose_k", d("""
        def choose_k(model, k_values, train_data, val_data, epochs, lr):
            val_acc, models, train_acc = {}, {}, {}
            for k in k_values:
                candidate = unfreeze_top(copy.deepcopy(model), k)
                train(candidate, train_data, val_data, epochs, lr)
                models[k] = candidate
                val_acc[k] = accuracy(candidate, *val_data)
                train_acc[k] = accuracy(candidate, *train_data)
            return max(k_values, key=lambda k: (train_acc[k], -k)), val_acc, models
        """)),
    "choose_k: skips phase 2": ("ft_torch_choose_k", d("""
        def choose_k(model, k_values, train_data, val_data, epochs, lr):
            val_acc, models = {}, {}
            for k in k_values:
                candidate = unfreeze_top(copy.deepcopy(model), k)
                val_acc[k], models[k] = accuracy(candidate, *val_data), candidate
            return max(k_values, key=lambda k: (val_acc[k], -k)), val_acc, models
        """)),
    "mbconv_trainable_params: expand always counted": ("ft_torch_count_params", d("""
        def mbconv_trainable_params(spec):
            m = spec.expanded_channels
            return int(spec.in_channels * m + m * spec.kernel ** 2 + m * spec.out_channels)
        """)),
    "mbconv_trainable_params: depthwise forgotten": ("ft_torch_count_params", d("""
        def mbconv_trainable_params(spec):
            m = spec.expanded_channels
            return int((spec.in_channels * m if spec.expand_ratio != 1 else 0) + m * spec.out_channels)
        """)),
    "bn_inference: top-level children only": ("ft_torch_bn_inference", d("""
        def bn_inference(model):
            for m in model.children():
                if isinstance(m, nn.BatchNorm2d):
                    m.requires_grad_(False)
                    m.eval()
            return model
        """)),
}

RIGHT = {
    "build_model with tt.freeze and tt.add_head": ("ft_torch_build_model", d("""
        def build_model(num_classes):
            return tt.add_head(tt.freeze(tt.efficientnet_lite0(weights="imagenet", include_top=False)), num_classes)
        """)),
    "train with tt.fit and a new Adam": ("ft_torch_train", d("""
        def train(model, train_data, val_data, epochs, lr, batch_size=32):
            optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
            return tt.fit(model, train_data, val_data=val_data, epochs=epochs, optimizer=optimizer,
                          batch_size=batch_size, transform=tt.preprocess_input, progress=False)
        """)),
    "unfreeze_top with the library": ("ft_torch_unfreeze_top", d("""
        def unfreeze_top(model, k):
            return tt.unfreeze_top_blocks(model, k)
        """)),
    "choose_k with a sorted scan": ("ft_torch_choose_k", d("""
        def choose_k(model, k_values, train_data, val_data, epochs, lr):
            models = {k: unfreeze_top(copy.deepcopy(model), k) for k in k_values}
            val_acc = {}
            for k, candidate in models.items():
                train(candidate, train_data, val_data, epochs, lr)
                val_acc[k] = accuracy(candidate, *val_data)
            best = None
            for k in sorted(k_values):
                if best is None or val_acc[k] > val_acc[best]:
                    best = k
            return best, val_acc, models
        """)),
    "mbconv_trainable_params as one expression": ("ft_torch_count_params", d("""
        def mbconv_trainable_params(spec):
            m = spec.expanded_channels
            return (spec.expand_ratio != 1) * spec.in_channels * m + m * (spec.kernel * spec.kernel + spec.out_channels)
        """)),
    "bn_inference with named_modules": ("ft_torch_bn_inference", d("""
        def bn_inference(model):
            for _, m in model.named_modules():
                if type(m) is nn.BatchNorm2d:
                    m.eval()
                    for p in m.parameters():
                        p.requires_grad = False
            return model
        """)),
}


@pytest.mark.parametrize("case", list(WRONG), ids=list(WRONG))
def test_wrong_answer_fails_visible_test_and_its_probes(case):
    grade_id, source = WRONG[case]
    test_id = grade_id + "_tests"
    ns = _namespace({grade_id: source})
    assert _visible(ns, test_id) is not None, f"{case}: the visible test passes a wrong answer"
    verdicts = _verdicts(_namespace({grade_id: source}), test_id)
    assert any(verdicts.values()), f"{case}: the probes give it the points ({verdicts})"


@pytest.mark.parametrize("case", list(RIGHT), ids=list(RIGHT))
def test_right_but_different_answer_passes(case):
    grade_id, source = RIGHT[case]
    test_id = grade_id + "_tests"
    ns = _namespace({grade_id: source})
    assert _visible(ns, test_id) is None, f"{case}: the visible test rejects a right answer"
    verdicts = _verdicts(_namespace({grade_id: source}), test_id)
    assert not any(verdicts.values()), f"{case}: the probes reject a right answer ({verdicts})"


def test_the_solution_passes_every_visible_test():
    _, tests, _ = _cells()
    ns = _namespace()
    for test_id in tests:
        assert _visible(ns, test_id) is None, test_id


def test_other_cells_do_not_use_a_wrong_unfreeze_top():
    """choose_k's probe replaces unfreeze_top by the key while it runs: a wrong unfreeze_top costs only its points."""
    grade_id, source = WRONG["unfreeze_top: BatchNorm unfrozen too"]
    verdicts = _verdicts(_namespace({grade_id: source}), "ft_torch_choose_k_tests")
    assert not any(verdicts.values()), verdicts
