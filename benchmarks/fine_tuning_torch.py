"""Two-phase fine-tuning vs feature extraction, and BatchNorm modes, over label subsamples (03 PyTorch).

The same computation as sections 3 and 5 of solutions/03_fine_tuning/fine_tuning_pytorch.ipynb (phase 1: a
dropout + linear head on the frozen EfficientNet-Lite0's pooled features, Adam 1e-3; phase 2: the top k blocks
and the head convolution unfrozen, BatchNorm frozen, Adam 1e-4, on activations cached below the trainable part),
on colour emoji (8 Unicode groups) and Fashion-MNIST at the same budget and input size, for many subsample seeds,
so that the notebook's claims can be checked against a wider sample than its ci run. Prints mean +- sd tables.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/fine_tuning_torch.py --seeds 0 1 2 3 4 5 --size 96 --n 25
"""

from __future__ import annotations

import argparse
import copy
import json

import numpy as np
import torch
from torch import nn

import tlhelpers.torch as tt
from tlhelpers import data, emoji, imagenet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--n", type=int, default=25, help="labels per class")
    parser.add_argument("--k", type=int, default=2, help="blocks unfrozen in phase 2")
    parser.add_argument("--depth", type=int, default=6, help="blocks above the cached cut")
    parser.add_argument("--epochs-head", type=int, default=10)
    parser.add_argument("--epochs-ft", type=int, default=4)
    parser.add_argument("--epochs-bn", type=int, default=2)
    parser.add_argument("--json", default=None, help="write the per-seed results here")
    args = parser.parse_args()
    torch.set_num_threads(1)

    base = tt.freeze(tt.efficientnet_lite0(weights="imagenet", include_top=False, pooling="avg"))
    cut = len(base.blocks) - args.depth
    bottom = nn.Sequential(base.stem, base.blocks[:cut]).eval()

    class Top(nn.Module):
        def __init__(self, backbone, head):
            super().__init__()
            self.blocks, self.conv_head, self.head = backbone.blocks[cut:], backbone.head, head

        def features(self, a):
            return self.conv_head(self.blocks(a)).mean(dim=(2, 3))

        def forward(self, a):
            return self.head(self.features(a))

        def train(self, mode=True):
            super().train(mode)
            for m in self.modules():
                if isinstance(m, nn.BatchNorm2d) and not any(p.requires_grad for p in m.parameters()):
                    m.eval()
            return self

    def acts(images):
        return tt.extract_features(bottom, images)

    def pooled(a):
        with torch.no_grad():
            return Top(base, nn.Identity()).eval().features(torch.as_tensor(a)).numpy()

    def phase_one(F, y, Fv, yv, classes, s):
        torch.manual_seed(s)
        head = nn.Sequential(nn.Dropout(0.2), nn.Linear(base.num_features, classes))
        tt.fit(head, (F, y), val_data=(Fv, yv), epochs=args.epochs_head, lr=1e-3, batch_size=32, progress=False)
        return head.eval()

    def phase_two(head, A, y, Av, yv, s, epochs, batch, bn_training=False):
        torch.manual_seed(s)
        backbone = tt.unfreeze_top_blocks(copy.deepcopy(base), args.k)
        if bn_training:
            for m in list(backbone.blocks[len(backbone.blocks) - args.k:].modules()) + list(backbone.head.modules()):
                if isinstance(m, nn.BatchNorm2d):
                    m.requires_grad_(True)
        top = Top(backbone, copy.deepcopy(head))
        tt.fit(top, (A, y), val_data=(Av, yv), epochs=epochs, lr=1e-4, batch_size=batch, progress=False)
        return top.eval()

    def acc(net, A, y):
        with torch.no_grad():
            return float((net(torch.as_tensor(A)).argmax(1).numpy() == y).mean())

    emo = emoji.load_emoji(size=args.size, random_state=0)
    Xp, yp = emo.split("train")
    Ap, Av, At = acts(Xp), acts(emo.split("val")[0]), acts(emo.split("test")[0])
    yv, yt = emo.split("val")[1], emo.split("test")[1]
    fx, fy = data.load_fashion_mnist("train")
    tx, ty = data.load_fashion_mnist("test")
    fval = data.few_shot_subset(fy, 14, random_state=10_000)
    fpool = np.setdiff1d(np.arange(len(fy)), fval)
    ftest = data.few_shot_subset(ty, 40, random_state=0)
    FAv, fyv = acts(imagenet.grey_to_rgb(fx[fval], args.size)), fy[fval].astype(np.int64)
    FAt, fyt = acts(imagenet.grey_to_rgb(tx[ftest], args.size)), ty[ftest].astype(np.int64)

    rows = []
    for s in args.seeds:
        idx = data.few_shot_subset(yp, args.n, random_state=s)
        chosen = fpool[data.few_shot_subset(fy[fpool], args.n, random_state=s)]
        targets = {"emoji": (Ap[idx], yp[idx], Av, yv, At, yt, 8),
                   "fmnist": (acts(imagenet.grey_to_rgb(fx[chosen], args.size)), fy[chosen].astype(np.int64),
                              FAv, fyv, FAt, fyt, 10)}
        row = {"seed": s}
        for name, (A, y, Av_, yv_, At_, yt_, classes) in targets.items():
            head = phase_one(pooled(A), y, pooled(Av_), yv_, classes, s)
            row[f"{name}_fe"] = acc(Top(base, head).eval(), At_, yt_)
            row[f"{name}_ft"] = acc(phase_two(head, A, y, Av_, yv_, s, args.epochs_ft, 32), At_, yt_)
            if name == "emoji":
                row["emoji_bn_inference"] = acc(phase_two(head, A, y, Av_, yv_, s, args.epochs_bn, 8), At_, yt_)
                row["emoji_bn_training"] = acc(phase_two(head, A, y, Av_, yv_, s, args.epochs_bn, 8, True), At_, yt_)
        rows.append(row)
        print(json.dumps(row), flush=True)

    def stat(key):
        v = np.array([r[key] for r in rows])
        return f"{v.mean():.3f} +- {v.std(ddof=1):.3f}"

    print(f"\n{len(rows)} seeds, {args.n} labels per class, {args.size} px, k={args.k}")
    print("| target | feature extraction | fine-tuned | fine-tuned minus FE |")
    print("| --- | --- | --- | --- |")
    for name in ("emoji", "fmnist"):
        for r in rows:
            r[f"{name}_diff"] = r[f"{name}_ft"] - r[f"{name}_fe"]
        print(f"| {name} | {stat(name + '_fe')} | {stat(name + '_ft')} | {stat(name + '_diff')} |")
    for r in rows:
        r["bn_diff"] = r["emoji_bn_inference"] - r["emoji_bn_training"]
    print(f"| emoji BatchNorm | inference {stat('emoji_bn_inference')} | training {stat('emoji_bn_training')} | "
          f"inference minus training {stat('bn_diff')} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
