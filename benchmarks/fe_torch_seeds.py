"""02 feature extraction (PyTorch) over notebook seeds: mean +- sd of its metrics, emoji and Fashion-MNIST side by side.

Each seed is one run of the notebook (``tlhelpers.course.run_notebook``, papermill) in the given profile: the seed
draws the emoji train/val/test split and the label-budget subsets (each run already averages its own draws). The
table gives, per budget, the mean +- sd over seeds of the per-run means, for transfer / pixels / scratch on emoji
and Fashion-MNIST, then the other metrics and every claim with its result per seed. Metrics of earlier runs are
reused (``--out`` keeps them), so seeds can be added one at a time.

Run:  nice -n 5 .venv/bin/python benchmarks/fe_torch_seeds.py --profile ci --seeds 0 1 2
(the ci profile takes a few minutes per seed on 2 idle cores)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STEM = "feature_extraction_pytorch"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench" / STEM)
    args = parser.parse_args(argv)

    import numpy as np

    from tlhelpers import course
    from tlhelpers.registry import load_registry

    spec = next(s for s in load_registry() if s.path.stem == STEM)
    runs = {}
    for seed in args.seeds:
        folder = args.out / f"{args.profile}-seed{seed}"
        metrics = folder / "metrics" / f"{spec.assignment}__{STEM}.json"
        if not metrics.is_file():
            result = course.run_notebook(spec, args.profile, folder, parameters={"seed": seed})
            print(f"seed {seed}: {result.status} in {result.seconds:.0f} s {result.detail}", flush=True)
        if metrics.is_file():
            runs[seed] = json.loads(metrics.read_text())["metrics"]
    if not runs:
        raise SystemExit("no run finished")
    seeds = sorted(runs)

    def stat(name: str) -> str:
        values = [runs[s][name] for s in seeds if isinstance(runs[s].get(name), (int, float))]
        if not values:
            return "-"
        return f"{np.mean(values):.3f} +- {np.std(values, ddof=1):.3f}" if len(values) > 1 else f"{values[0]:.3f}"

    budgets = sorted({int(k.rsplit("_", 1)[1]) for k in runs[seeds[0]] if k.startswith("transfer_acc_")})
    print(f"\n{STEM}, profile {args.profile}, seeds {seeds}: mean +- sd over seeds of each run's mean over draws")
    print("| labels/class | emoji transfer | emoji pixels | emoji scratch | F-MNIST transfer | F-MNIST pixels "
          "| F-MNIST scratch |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for n in budgets:
        cells = [stat(f"{m}_acc_{n}") for m in ("transfer", "pixels", "scratch")]
        cells += [stat(f"fmnist_{m}_acc_{n}") for m in ("transfer", "pixels", "scratch")]
        print(f"| {n} | " + " | ".join(cells) + " |")
    others = sorted(k for k in runs[seeds[0]] if k != "claims" and not any(
        k.startswith(p) for p in ("transfer_acc_", "pixels_acc_", "scratch_acc_", "fmnist_transfer_acc_",
                                  "fmnist_pixels_acc_", "fmnist_scratch_acc_")))
    print()
    for k in others:
        print(f"{k}: {stat(k)}" if isinstance(runs[seeds[0]][k], (int, float))
              else f"{k}: {[runs[s].get(k) for s in seeds]}")
    print("\nclaims (held per seed):")
    for name in runs[seeds[0]].get("claims", {}):
        print(f"  {name}: " + ", ".join(
            f"seed {s} {'held' if runs[s].get('claims', {}).get(name, {}).get('held') else 'FAILED'}" for s in seeds))


if __name__ == "__main__":
    main()
