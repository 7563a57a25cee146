"""03 fine-tuning (Keras) over seeds: run the notebook with papermill for each seed and tabulate its metrics.

Each seed draws its own label budget (emoji and Fashion-MNIST) and its own initialisation; the test sets stay the
same. Prints, for emoji and Fashion-MNIST side by side, mean +- sd over the seeds, and every claim's evidence per
seed. Usage (from the repository root, one notebook execution at a time)::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/fine_tuning_keras_seeds.py --seeds 0 1 2 --profile ci
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "solutions" / "03_fine_tuning" / "fine_tuning_keras.ipynb"
ROWS = [("phase 1 (feature extraction) test acc", "phase1_test_acc", "fmnist_phase1_test_acc"),
        ("two-phase fine-tuning test acc", "finetune_test_acc", "fmnist_finetune_test_acc"),
        ("fine-tuning minus feature extraction", "finetune_minus_feature_extraction",
         "fmnist_finetune_minus_feature_extraction"),
        ("chosen k", "chosen_k", None),
        ("chosen k test acc", "chosen_k_test_acc", None),
        ("probe: pretrained features", "probe_pretrained", None),
        ("probe: after random head, all unfrozen", "probe_after_random_head", None),
        ("probe: after trained head, all unfrozen", "probe_after_trained_head", None),
        ("BatchNorm inference mode test acc", "bn_inference_acc", None),
        ("BatchNorm training mode test acc", "bn_training_acc", None)]


def run_seed(seed: int, profile: str, out: Path) -> tuple[dict, float]:
    metrics = out / f"metrics-{profile}-{seed}.json"
    start = time.time()
    subprocess.run([sys.executable, "-m", "papermill", str(NOTEBOOK), str(out / f"executed-{profile}-{seed}.ipynb"),
                    "-p", "profile", profile, "-p", "seed", str(seed), "-p", "metrics_path", str(metrics),
                    "--cwd", str(NOTEBOOK.parent)], check=False, capture_output=True)
    return (json.loads(metrics.read_text()) if metrics.exists() else {}), time.time() - start


def cell(values: list) -> str:
    values = [float(v) for v in values if v is not None]
    if not values:
        return "-"
    return f"{np.mean(values):.3f} +- {np.std(values, ddof=1) if len(values) > 1 else 0:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "benchmarks" / "fine_tuning_keras")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs = {}
    for seed in args.seeds:
        runs[seed], seconds = run_seed(seed, args.profile, args.out)
        print(f"seed {seed}: {seconds:.0f} s, {len(runs[seed])} metrics", flush=True)
    print(f"\n| {args.profile}, seeds {args.seeds} | emoji | Fashion-MNIST |\n| --- | --- | --- |")
    for label, emoji_key, fmnist_key in ROWS:
        print(f"| {label} | {cell([runs[s].get(emoji_key) for s in args.seeds])} | "
              f"{cell([runs[s].get(fmnist_key) for s in args.seeds]) if fmnist_key else '-'} |")
    print("\nclaims:")
    names = sorted({n for s in args.seeds for n in runs[s].get("claims", {})})
    for name in names:
        for s in args.seeds:
            entry = runs[s].get("claims", {}).get(name, {})
            print(f"  [{name}] seed {s}: held {entry.get('held')}; {entry.get('evidence')}")
    (args.out / f"summary-{args.profile}.json").write_text(json.dumps(runs, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
