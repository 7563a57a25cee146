"""First look at domain adaptation for assignment 06: colour emoji (labelled source) -> line-art emoji (target).

Frozen EfficientNet-Lite0 features (PyTorch, ImageNet weights) of the emoji drawn in both styles
(:func:`tlhelpers.emoji.paired_styles`, the 8 Unicode groups, split by item). The target's labels are used only
to score, except by the oracle. For each seed (the split's ``random_state``):

* source only: standardised features -> logistic regression trained on colour, scored on line-art test images;
* per-domain z-score: each domain standardised with its own mean and spread (the cheap trick);
* CORAL (:func:`tlhelpers.adapt.coral`) on the per-domain z-scored features, regulariser 1;
* AdaBN (:func:`tlhelpers.adapt.torch.adabn`): the backbone's BatchNorm statistics re-estimated on each
  domain's training images (source features with colour statistics, target features with line-art ones);
  also with only the target's re-estimated (the source keeping ImageNet's statistics);
* self-training (:func:`tlhelpers.adapt.self_training`), class-balanced pseudo-labels, on the z-scored features;
* an MLP on the features: source only, DANN (:func:`tlhelpers.adapt.torch.train_dann`) and Deep CORAL;
* oracle: trained on labelled line-art training images.

Distances (MMD, proxy A-distance: :func:`tlhelpers.adapt.domain_distances`) are measured between the source
training features and the target's features in each method's representation.

Run:  .venv/bin/python benchmarks/adaptation_first_look.py --seeds 0 1 2

Measured 2026-12-01 (defaults: 64 px, C=0.05, threshold 0.5, 1500 steps; 783/783/341 or 768/768/356 source /
target-train / target-test images; 68 min on 2 busy cores, mostly the AdaBN feature passes), mean +- sd over
seeds 0, 1, 2; MMD and proxy A-distance between source and target training features in each method's space:

    method               target acc   MMD            proxy A-dist
    source only          0.299+-0.021 0.047+-0.001   1.855+-0.039   (held-out colour emoji: 0.648+-0.008)
    per-domain z-score   0.284+-0.023 0.002+-0.000   0.811+-0.827
    CORAL                0.291+-0.026 0.003+-0.000   0.000+-0.000
    self-training        0.297+-0.036 (its input's: per-domain z-score)
    AdaBN                0.324+-0.009 0.002+-0.000   0.585+-0.052
    AdaBN target only    0.189+-0.014 0.113+-0.013   1.983+-0.003
    MLP source only      0.285+-0.009 0.025+-0.001   1.599+-0.056
    DANN                 0.295+-0.038 0.007+-0.001   1.557+-0.091
    Deep CORAL           0.277+-0.024 0.019+-0.001   1.029+-0.208
    target oracle        0.491+-0.015

Only AdaBN (both domains re-estimated) gains on two seeds of three (+0.04, +0.04, -0.01); the rest are within
the seed spread of source only; AdaBN on the target alone hurts on every seed. Distances do not predict
accuracy here: CORAL drives the (linear) proxy A-distance to 0 without gaining.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402


def _logreg(C: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=3000)


def _zscore(X: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return (X - ref.mean(0)) / (ref.std(0) + 1e-6)


def _mlp_methods(zs, ys, zt_train, zt_test, yt_test, seed, steps, k):
    """Source-only MLP, DANN and Deep CORAL on the same features; accuracy and learned features per method."""
    import torch
    from torch import nn

    import tlhelpers.adapt.torch as at

    out = {}
    for name in ("MLP source only", "DANN", "Deep CORAL"):
        torch.manual_seed(seed)
        features = nn.Sequential(nn.Dropout(0.2), nn.Linear(zs.shape[1], 256), nn.ReLU())
        model = at.DANN(features, nn.Linear(256, k), at.domain_classifier(256, 64))
        if name == "Deep CORAL":
            at.train_deep_coral(model, zs, ys, zt_train, steps=steps, weight=10.0, seed=seed, device="cpu")
        else:
            at.train_dann(model, zs, ys, zt_train, steps=steps, lambda_max=0.0 if name == "MLP source only" else 1.0,
                          seed=seed, device="cpu")
        accuracy = float((at.predict_proba(model, zt_test).argmax(1) == yt_test).mean())
        with torch.no_grad():
            fs = model.features(torch.as_tensor(zs, dtype=torch.float32)).numpy()
            ft = model.features(torch.as_tensor(zt_train, dtype=torch.float32)).numpy()
        out[name] = (accuracy, fs, ft)
    return out


def run_seed(seed: int, size: int, steps: int, C: float, threshold: float) -> dict[str, dict[str, float]]:
    import tlhelpers.adapt.torch as at
    import tlhelpers.torch as tt
    from tlhelpers import adapt
    from tlhelpers.emoji import paired_styles

    colour, line = paired_styles(classes="groups", size=size, random_state=seed)
    k = len(colour.class_names)
    src = np.r_[colour.train, colour.val]      # labelled source: train + val
    tgt_train, tgt_test = np.r_[line.train, line.val], line.test
    ys, yt_train, yt_test = colour.labels[src], line.labels[tgt_train], line.labels[tgt_test]

    base = tt.freeze(tt.efficientnet_lite0(include_top=False))
    f_colour = tt.extract_features(base, colour.images)
    f_line = tt.extract_features(base, line.images)
    Xs, Xt_train, Xt_test = f_colour[src], f_line[tgt_train], f_line[tgt_test]

    results: dict[str, dict[str, float]] = {}

    def record(name, accuracy, rep_s, rep_t):
        results[name] = {"target_accuracy": accuracy, **adapt.domain_distances(rep_s, rep_t, random_state=seed)}

    # source only and the in-domain reference
    clf = _logreg(C).fit(_zscore(Xs, Xs), ys)
    record("source only", clf.score(_zscore(Xt_test, Xs), yt_test), _zscore(Xs, Xs), _zscore(Xt_train, Xs))
    results["source only"]["source_test_accuracy"] = clf.score(_zscore(f_colour[colour.test], Xs),
                                                                colour.labels[colour.test])
    # per-domain standardisation, CORAL and self-training on top of it
    zs, zt_train, zt_test = _zscore(Xs, Xs), _zscore(Xt_train, Xt_train), _zscore(Xt_test, Xt_train)
    record("per-domain z-score", _logreg(C).fit(zs, ys).score(zt_test, yt_test), zs, zt_train)
    zc = adapt.coral(zs, zt_train, regularization=1.0)
    record("CORAL", _logreg(C).fit(zc, ys).score(zt_test, yt_test), zc, zt_train)
    st, counts = adapt.self_training(_logreg(C), zs, ys, zt_train, threshold=threshold, rounds=5,
                                     per_class_max=len(zt_train) // (2 * k))
    record("self-training", st.score(zt_test, yt_test), zs, zt_train)
    results["self-training"]["pseudo_labels_last_round"] = counts[-1]
    # AdaBN (Li et al.): each domain's features from a backbone whose BatchNorm statistics are that domain's
    def adabn_features(images, fit_rows):
        backbone = tt.freeze(tt.efficientnet_lite0(include_top=False))
        at.adabn(backbone, images[fit_rows], batch_size=64, transform=tt.preprocess_input)
        return tt.extract_features(backbone, images, cache=False)

    g_colour, g_line = adabn_features(colour.images, src), adabn_features(line.images, tgt_train)
    gs = g_colour[src]
    bn_clf = _logreg(C).fit(_zscore(gs, gs), ys)
    record("AdaBN", bn_clf.score(_zscore(g_line[tgt_test], gs), yt_test), _zscore(gs, gs),
           _zscore(g_line[tgt_train], gs))
    # ... and only the target re-estimated (the source keeps ImageNet's statistics)
    record("AdaBN target only", clf.score(_zscore(g_line[tgt_test], Xs), yt_test), _zscore(Xs, Xs),
           _zscore(g_line[tgt_train], Xs))
    # MLPs on the per-domain z-scored features
    for name, (accuracy, fs, ft) in _mlp_methods(zs, ys, zt_train, zt_test, yt_test, seed, steps, k).items():
        record(name, accuracy, fs, ft)
    # oracle: labelled target
    oracle = _logreg(C).fit(_zscore(Xt_train, Xt_train), yt_train)
    results["target oracle"] = {"target_accuracy": oracle.score(zt_test, yt_test), "mmd": float("nan"),
                                "proxy_a_distance": float("nan")}
    results["source only"]["n"] = {"source": len(src), "target_train": len(tgt_train), "target_test": len(tgt_test)}
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--size", type=int, default=64, help="emoji size in pixels (default 64)")
    parser.add_argument("--steps", type=int, default=1500, help="DANN / Deep CORAL updates")
    parser.add_argument("--C", type=float, default=0.05, help="logistic regression's inverse regularisation")
    parser.add_argument("--threshold", type=float, default=0.5, help="self-training's confidence threshold")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    per_seed = []
    for seed in args.seeds:
        start = time.time()
        per_seed.append(run_seed(seed, args.size, args.steps, args.C, args.threshold))
        print(f"seed {seed}: {time.time() - start:.0f} s, sizes {per_seed[-1]['source only']['n']}", flush=True)
        for name, row in per_seed[-1].items():
            print(f"  {name:20s} " + " ".join(f"{k}={v:.3f}" for k, v in row.items() if isinstance(v, float)))
    print(f"\n{'method':20s} {'target acc':>15s} {'MMD':>15s} {'proxy A-dist':>15s}   (mean +- sd over seeds "
          f"{args.seeds})")
    for name in per_seed[0]:
        cells = []
        for key in ("target_accuracy", "mmd", "proxy_a_distance"):
            values = np.array([r[name][key] for r in per_seed], dtype=float)
            cells.append(f"{values.mean():.3f} +- {values.std(ddof=1) if len(values) > 1 else 0:.3f}")
        print(f"{name:20s} " + " ".join(f"{c:>15s}" for c in cells))
    source = np.array([r["source only"]["source_test_accuracy"] for r in per_seed])
    print(f"(source only on held-out colour emoji: {source.mean():.3f} +- "
          f"{source.std(ddof=1) if len(source) > 1 else 0:.3f})")


if __name__ == "__main__":
    main()
