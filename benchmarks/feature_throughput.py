"""How much faster is cached, batched feature extraction than a naive loop? (PyTorch, EfficientNet-Lite0, CPU)

Measured side by side in one run, on the same images:

* naive loop: one image at a time, float32 NCHW (contiguous), plain grad mode (no ``inference_mode``);
* ``extract_features``: batches, ``torch.inference_mode``, channels-last memory, all threads
  (and the same without channels-last, to show what that one setting buys);
* one training epoch of a linear head on cached features vs the same epoch through the frozen base.

Run:  .venv/bin/python benchmarks/feature_throughput.py --quick
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402


def _images(n: int, size: int) -> np.ndarray:
    """Fashion-MNIST-like inputs: grey 28x28 uint8 images turned into RGB at ``size`` px."""
    from tlhelpers.imagenet import grey_to_rgb

    rng = np.random.default_rng(0)
    grey = (rng.random((n, 28, 28)) ** 2 * 255).astype(np.uint8)
    return grey_to_rgb(grey, size)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few images (about a minute on 2 cores)")
    parser.add_argument("--n", type=int, help="number of images")
    parser.add_argument("--size", type=int, default=224, help="image size in pixels (default 224)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3, help="report the best of this many runs")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args(argv)
    n = args.n or (32 if args.quick else 256)
    naive_n = min(n, 16 if args.quick else 64)

    # Keep the benchmark's feature cache out of the user's cache.
    tmp_cache = tempfile.mkdtemp(prefix="tlhelpers-bench-")
    os.environ["TLHELPERS_CACHE"] = tmp_cache
    import torch

    import tlhelpers.torch as tt

    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    images = _images(n, args.size)
    labels = torch.from_numpy(np.random.default_rng(1).integers(0, 10, n))
    base = tt.freeze(tt.efficientnet_lite0(include_top=False))

    # Warm-up (first calls allocate and pick kernels).
    tt.extract_features(base, images[:4], batch_size=4, cache=False)
    rows: list[tuple[str, int, float]] = []

    def best_of(fn) -> float:
        """Best wall time of ``repeat`` runs: the least disturbed by other processes on a shared machine."""
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    # 1. naive: one image at a time, NCHW contiguous, no inference_mode.
    def naive() -> None:
        base.to(memory_format=torch.contiguous_format).eval()
        for img in images[:naive_n]:
            x = torch.from_numpy(img).permute(2, 0, 1).float().contiguous()[None]
            base((x - 127.0) / 128.0)

    rows.append(("naive loop (1 image, NCHW, grad mode)", naive_n, best_of(naive)))
    # 2. extract_features: without channels-last, then the default; then the cache.
    rows.append((f"extract_features, NCHW (no channels-last)", n, best_of(
        lambda: tt.extract_features(base, images, batch_size=args.batch_size, cache=False, channels_last=False))))
    rows.append((f"extract_features, channels-last (default)", n, best_of(
        lambda: tt.extract_features(base, images, batch_size=args.batch_size, cache=False))))
    feats = tt.extract_features(base, images, batch_size=args.batch_size, cache=True)
    rows.append(("extract_features again (cache hit)", n, best_of(
        lambda: tt.extract_features(base, images, batch_size=args.batch_size, cache=True))))

    print(f"\nEfficientNet-Lite0 frozen base, {args.size}x{args.size} px, {threads} torch threads, "
          f"torch {torch.__version__}, device cpu, batch_size={args.batch_size}, best of {args.repeat}")
    print(f"{'method':58s} {'images':>7s} {'seconds':>8s} {'images/s':>9s} {'speed-up':>9s}")
    naive_rate = rows[0][1] / rows[0][2]
    for name, count, secs in rows:
        rate = count / secs
        print(f"{name:58s} {count:7d} {secs:8.2f} {rate:9.1f} {rate / naive_rate:8.1f}x")

    # 3. One epoch of a linear head: on cached features vs through the frozen base.
    def epoch(model: torch.nn.Module, inputs: torch.Tensor) -> float:
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
        model.train()
        start = time.perf_counter()
        for i in range(0, n, 32):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(inputs[i:i + 32]), labels[i:i + 32])
            loss.backward()
            opt.step()
        return time.perf_counter() - start

    torch.manual_seed(0)
    full = tt.add_head(base, 10)
    head_only = full.head
    t_feats = epoch(head_only, torch.from_numpy(feats))
    base.to(memory_format=torch.channels_last)
    t_full = epoch(full, tt.preprocess_input(images).contiguous(memory_format=torch.channels_last))
    print(f"\nOne training epoch of the linear head ({n} images, batch 32)")
    print(f"{'on cached features':58s} {t_feats:8.3f} s")
    print(f"{'through the frozen base':58s} {t_full:8.3f} s   ({t_full / t_feats:,.0f}x slower)")
    shutil.rmtree(tmp_cache, ignore_errors=True)


if __name__ == "__main__":
    main()
