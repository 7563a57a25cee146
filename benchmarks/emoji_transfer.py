"""Does ImageNet transfer pay on emoji? EfficientNet-Lite0 features vs raw pixels (vs a small CNN), by label budget.

For each class set of :mod:`tlhelpers.emoji` and each seed (the seed draws both the item split and the labelled
subset): logistic regression on EfficientNet-Lite0's pooled features (ImageNet weights, ``extract_features``,
cached) and the same classifier on raw pixels, trained on ``n`` labels per class taken from the training fold
(fewer where a class has fewer training items: the table says so), scored on the whole test fold. Domains:
colour -> colour, line -> line, and colour -> line (trained on the colour drawings, tested on the line art of the
test items; no test item is in the training fold of either style). Printed: the test-set size, the mean over
seeds +- their standard deviation, the mean binomial standard error of one accuracy, sqrt(p(1-p)/n_test), and
the difference transfer - pixels paired by seed (mean +- sd). ``--augment K`` adds a table of transfer with K
augmented copies of each training image (``tlhelpers.torch.augmentation``) against transfer without.

Measured on 2 busy CPU cores (96 px, seeds 0-2, mean over seeds; SE ~0.024 for groups, ~0.035 for objects):

| classes (n_test) | domain | 5 | 10 | 25 | 50 labels/class |
| --- | --- | --- | --- | --- | --- |
| groups (412) | colour: transfer/pixels/CNN | .420/.342/.328 | .456/.369/.362 | .544/.431/.401 | .608/.444/.392 |
| groups (346) | line: transfer/pixels/CNN | .273/.240/.269 | .368/.278/.297 | .416/.320/.330 | .470/.354/.231 |
| groups (346) | colour -> line: transfer/pixels | .210/.220 | .218/.199 | .273/.242 | .283/.230 |
| objects (198) | colour: transfer/pixels | .343/.241 | .418/.278 | .488/.320 | .551/.350 (capped) |
| objects (153) | line: transfer/pixels | .280/.226 | .349/.215 | .458/.293 (capped) | .510/.319 (capped) |

Paired gap transfer - pixels, colour (mean +- sd over seeds): groups +0.078 +- 0.051, +0.087 +- 0.026,
+0.112 +- 0.041, +0.163 +- 0.018; objects +0.103 +- 0.012, +0.140 +- 0.050, +0.168 +- 0.046, +0.200 +- 0.029.
Augmentation (4 augmented copies per image, groups, colour): +0.037 +- 0.028 at 5 labels/class, +0.006 at 10,
+0.011 at 25; line: +0.060 +- 0.007, +0.020 +- 0.008, -0.016 +- 0.022.

Run:  nice -n 5 .venv/bin/python benchmarks/emoji_transfer.py [--cnn] [--augment 4] [--classes groups objects]
(on 2 cores shared with other work: about 25 minutes without --cnn, about an hour with it)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402


def _budget_subset(labels: np.ndarray, pool: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, bool]:
    """Indices of up to ``n`` labels per class from ``pool``; also whether some class had fewer than ``n``."""
    rng = np.random.default_rng(seed)
    picked, capped = [], False
    for label in np.unique(labels[pool]):
        members = pool[labels[pool] == label]
        capped |= len(members) < n
        picked.append(rng.choice(members, size=min(n, len(members)), replace=False))
    return np.concatenate(picked), capped


def _fit_logreg(x_train: np.ndarray, y_train: np.ndarray):
    """Standardised inputs + logistic regression (scikit-learn defaults); returns its ``predict``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x_train, y_train).predict


def _fit_cnn(x_train: np.ndarray, y_train: np.ndarray, n_classes: int, seed: int, steps: int = 300):
    """A 3-block CNN from scratch on 32 px images (Adam, ``steps`` batches of 32, no augmentation); its predict."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    torch.manual_seed(seed)

    def prep(x: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(x).permute(0, 3, 1, 2).float() / 127.5 - 1
        return F.interpolate(t, size=32, mode="bilinear", antialias=True, align_corners=False)

    def block(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2))

    model = nn.Sequential(block(3, 32), block(32, 64), block(64, 128), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Dropout(0.3), nn.Linear(128, n_classes))
    xt, yt = prep(x_train), torch.from_numpy(y_train).long()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        batch = torch.randint(len(xt), (min(32, len(xt)),), generator=gen)
        opt.zero_grad()
        F.cross_entropy(model(xt[batch]), yt[batch]).backward()
        opt.step()
    model.eval()

    def predict(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(prep(x)).argmax(1).numpy()

    return predict


def _augmented_features(base, images: np.ndarray, views: int, seed: int, threads: int) -> np.ndarray:
    """Features of ``views`` augmented copies of ``images`` (tlhelpers.torch.augmentation, default strengths)."""
    import torch

    import tlhelpers.torch as tt

    augment = tt.augmentation(seed=seed)
    x = torch.from_numpy(images).permute(0, 3, 1, 2)
    with torch.no_grad():
        copies = [augment(x).clamp(0, 255) for _ in range(views)]
    return np.concatenate([tt.extract_features(base, c, cache=False, num_threads=threads) for c in copies])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", nargs="+", default=["groups", "objects"])
    parser.add_argument("--size", type=int, default=96, help="image size in pixels (default 96)")
    parser.add_argument("--budgets", type=int, nargs="+", default=[5, 10, 25, 50])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cnn", action="store_true", help="also a small CNN from scratch (32 px, 300 steps)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--augment", type=int, default=0, metavar="VIEWS",
                        help="also: transfer with VIEWS augmented copies of each training image (budgets <= 25)")
    parser.add_argument("--only-augment", action="store_true", help="skip the main table (with --augment)")
    args = parser.parse_args(argv)

    import torch

    import tlhelpers.emoji as emoji
    import tlhelpers.torch as tt

    torch.set_num_threads(args.threads)
    base = tt.efficientnet_lite0(include_top=False)
    methods = ["transfer", "pixels"] + (["cnn"] if args.cnn else [])
    print(f"EfficientNet-Lite0 pooled features vs raw pixels, {args.size} px, seeds {args.seeds}; "
          "mean +- sd over seeds (mean binomial SE of one accuracy)")
    print(emoji.coverage())
    for classes in args.classes:
        started = time.perf_counter()
        data = {style: [emoji.load_emoji(classes, style, args.size, random_state=s) for s in args.seeds]
                for style in emoji.STYLES}
        # The images do not depend on the seed (only the split does): one feature extraction per style.
        feats = {style: tt.extract_features(base, data[style][0].images, num_threads=args.threads)
                 for style in emoji.STYLES}
        pixels = {style: data[style][0].images.reshape(len(data[style][0]), -1) / 255.0 for style in emoji.STYLES}
        n_classes = len(data["colour"][0].class_names)
        print(f"\n## classes={classes}: {n_classes} classes, {len(data['colour'][0])} colour / "
              f"{len(data['line'][0])} line items (features in {time.perf_counter() - started:.0f} s)")
        if args.augment:
            print(f"\nAugmentation: transfer with {args.augment} augmented copies of each training image "
                  "(flip, +-18 deg, +-15% zoom, +-10% shift, random background for half); paired over seeds")
            print("| domain | labels/class | n_test | transfer | transfer + augmentation | difference |")
            print("| --- | --- | --- | --- | --- | --- |")
            for style in emoji.STYLES:
                for n in [b for b in args.budgets if b <= 25]:
                    plain, augmented, n_tests = [], [], []
                    for k, seed in enumerate(args.seeds):
                        d = data[style][k]
                        chosen, _ = _budget_subset(d.labels, d.train, n, seed)
                        extra = _augmented_features(base, d.images[chosen], args.augment, seed, args.threads)
                        x_aug = np.concatenate([feats[style][chosen], extra])
                        y_aug = np.tile(d.labels[chosen], args.augment + 1)
                        y_test = d.labels[d.test]
                        plain.append(float((_fit_logreg(feats[style][chosen], d.labels[chosen])(
                            feats[style][d.test]) == y_test).mean()))
                        augmented.append(float((_fit_logreg(x_aug, y_aug)(feats[style][d.test]) == y_test).mean()))
                        n_tests.append(len(d.test))
                    p, a = np.array(plain), np.array(augmented)
                    diff = a - p
                    print(f"| {style} | {n} | {int(np.mean(n_tests))} | {p.mean():.3f} +- {p.std(ddof=1):.3f} | "
                          f"{a.mean():.3f} +- {a.std(ddof=1):.3f} | {diff.mean():+.3f} +- {diff.std(ddof=1):.3f} |",
                          flush=True)
            if args.only_augment:
                continue
        print("| domain | labels/class | n_test | " + " | ".join(methods) + " | transfer - pixels (paired) |")
        print("| --- | --- | --- | " + " | ".join("---" for _ in methods) + " | --- |")
        # One model per (training style, budget, seed); the colour-trained one is scored on both test sets.
        domains = {"colour": ("colour", "line"), "line": ("line",)}
        rows: dict[tuple[str, str, int], tuple[dict[str, list[float]], list[int], bool]] = {}
        for train_style, test_styles in domains.items():
            for n in args.budgets:
                for k, seed in enumerate(args.seeds):
                    src = data[train_style][k]
                    chosen, capped = _budget_subset(src.labels, src.train, n, seed)
                    y_tr = src.labels[chosen]
                    models = {"transfer": _fit_logreg(feats[train_style][chosen], y_tr),
                              "pixels": _fit_logreg(pixels[train_style][chosen], y_tr)}
                    if args.cnn:
                        models["cnn"] = _fit_cnn(src.images[chosen], y_tr, n_classes, seed)
                    for test_style in test_styles:
                        tgt = data[test_style][k]
                        scores, n_tests, capped_any = rows.setdefault(
                            (train_style, test_style, n), ({m: [] for m in methods}, [], False))
                        rows[train_style, test_style, n] = (scores, n_tests, capped_any or capped)
                        n_tests.append(len(tgt.test))
                        inputs = {"transfer": feats[test_style][tgt.test], "pixels": pixels[test_style][tgt.test],
                                  "cnn": tgt.images[tgt.test]}
                        for m in methods:
                            scores[m].append(float((models[m](inputs[m]) == tgt.labels[tgt.test]).mean()))
        for (train_style, test_style, n), (scores, n_tests, capped_any) in sorted(
                rows.items(), key=lambda kv: (["colour", "line"].index(kv[0][1]), kv[0][0] != kv[0][1], kv[0][2])):
            cells = []
            for m in methods:
                acc = np.array(scores[m])
                se = np.mean(np.sqrt(acc * (1 - acc) / np.array(n_tests)))
                cells.append(f"{acc.mean():.3f} +- {acc.std(ddof=1) if len(acc) > 1 else 0:.3f} ({se:.3f})")
            gap = np.array(scores["transfer"]) - np.array(scores["pixels"])
            cells.append(f"{gap.mean():+.3f} +- {gap.std(ddof=1) if len(gap) > 1 else 0:.3f}")
            label = f"{n}{'*' if capped_any else ''}"
            print(f"| {train_style} -> {test_style} | {label} | {int(np.mean(n_tests))} | " + " | ".join(cells)
                  + " |", flush=True)
        if any(capped for _, _, capped in rows.values()):
            print("(* some class has fewer training items than that: all of them were used)")
        print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
