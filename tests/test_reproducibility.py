"""Same seed, same metrics; another seed moves them only within a stated band (CPU, smoke profile): a
scikit-learn notebook (01) and a PyTorch one that trains networks and caches features (02)."""

import json
from pathlib import Path

import pytest

from tlhelpers import course
from tlhelpers.registry import load_registry

pytestmark = pytest.mark.slow

# Notebooks checked, with the metrics compared and the band a different seed may move them by. Assignment 01 is
# a scikit-learn notebook: on one CPU thread its results are bit-for-bit repeatable. The bands are about three
# binomial standard deviations of a difference of two accuracies at the smoke profile's test sizes (500 test
# images; 150 per shifted target set), and for the Spearman correlation over its 8 shift/strength points.
# Assignment 02 (PyTorch) trains networks and extracts features (the second run reads them from the cache): the
# seed draws the 5 labelled images per class (the smoke profile's one budget), the heads' initial weights and the
# batch order. Its bands are 3 * sqrt(2) standard deviations of each metric over seeds 0-5, measured on this notebook
# in smoke (SD: transfer 0.035, pixels 0.019, CNN from scratch 0.023, early block 0.018, the student's model 0.057:
# one epoch in smoke). A metric the notebook stops recording (renamed, or another smoke budget) fails with the names
# it does record.
BANDS_02 = {"transfer_acc_5": 0.15, "pixels_acc_5": 0.08, "scratch_acc_5": 0.10, "block_acc_block3b": 0.08,
            "student_model_test_acc": 0.25}
CASES = {
    "01_domains_and_tasks/domains_and_tasks": {
        "source_accuracy": 0.08, "clean_target_accuracy": 0.15, "coarse_mapped_accuracy": 0.08,
        "spearman_mmd_vs_drop": 0.5,
    },
    "02_feature_extraction/feature_extraction_pytorch": BANDS_02,
}
SAME_SEED_TOLERANCE = 1e-9


def _run(spec, tmp_path, name, seed):
    result = course.run_notebook(spec, "smoke", tmp_path / name, parameters={"seed": seed})
    assert result.status == "ok", result.detail
    return json.loads(Path(result.metrics_path).read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_seed_same_metrics_other_seed_within_band(name, tmp_path):
    spec = next(s for s in load_registry() if s.name == name)
    first, again, other = (_run(spec, tmp_path, f"run{i}", seed) for i, seed in enumerate((0, 0, 1)))
    assert first["seed"] == 0 and other["seed"] == 1
    missing = sorted(set(CASES[name]) - set(first["metrics"]))
    assert not missing, f"{name} in smoke records no {missing}; it records {sorted(first['metrics'])}"
    for metric, band in CASES[name].items():
        a, b, c = first["metrics"][metric], again["metrics"][metric], other["metrics"][metric]
        assert abs(a - b) <= SAME_SEED_TOLERANCE, f"{metric}: {a} then {b} with the same seed"
        assert abs(a - c) <= band, f"{metric}: seed 0 gives {a}, seed 1 gives {c}, more than {band} apart"
    moved = [m for m in CASES[name] if first["metrics"][m] != other["metrics"][m]]
    assert moved, "a different seed changed none of the compared metrics: is the seed used?"
