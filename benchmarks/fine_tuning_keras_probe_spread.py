"""Spread of the 03 Keras trained-model probes over seeds: the solution's held-out emoji accuracy (32 px, 10 labels
per class) after its train_head probe and after its fine_tune probe, with the probe seed 1234 replaced by 0, 1, 2,
and the same for a model that skips the phase (no fit). The probe thresholds (MIN_HEAD_ACC, MIN_FINETUNE_ACC in
solutions/03_fine_tuning/fine_tuning_keras.probes.py) sit below the solution's minimum and above the skips.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/fine_tuning_keras_probe_spread.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import numpy as np  # noqa: E402

from test_ft_keras_exercises import _namespace, _probes  # noqa: E402


def accuracy(ns: dict, test_id: str, seed: int) -> float:
    from tlhelpers import emoji

    labels = emoji.load_emoji(size=32).split("test")[1]
    (p,) = [p for p in _probes(test_id) if "predictions" in p.body]
    exec(p.body.replace("1234", str(seed)).replace("1235", str(seed + 1)), ns)
    return float((np.asarray(ns[p.name]()["predictions"]) == labels).mean())


SKIP_HEAD = '''
def train_head(model, x_train, y_train, x_val, y_val, epochs, lr, batch_size=32):
    model.compile(optimizer=keras.optimizers.Adam(lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=0, verbose=0)
'''

if __name__ == "__main__":
    for label, replace, test_id in (("train_head (solution)", None, "ft_keras_train_head_tests"),
                                    ("train_head skipped", {"ft_keras_train_head": SKIP_HEAD},
                                     "ft_keras_train_head_tests"),
                                    ("fine_tune (solution)", None, "ft_keras_fine_tune_tests")):
        accs = [accuracy(_namespace(replace), test_id, seed) for seed in (0, 1, 2)]
        print(f"{label}: seeds 0-2 {[round(a, 3) for a in accs]}, mean {np.mean(accs):.3f} +- "
              f"{np.std(accs, ddof=1):.3f}", flush=True)
