"""Data folders of installed Python packages: found without importing the package, or a clear error saying
which pip package installs it.

The pip package names are those of :data:`tlhelpers.assets.ASSETS` (the one list of offline assets), looked up by
the import name (an asset's ``probe``), so that a name is written once.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["pip_package", "install_hint", "package_folder"]


def pip_package(import_name: str) -> str:
    """The PyPI package that installs the module ``import_name``, from :data:`tlhelpers.assets.ASSETS`."""
    from tlhelpers.assets import ASSETS

    for asset in ASSETS:
        if asset.kind == "pip" and asset.probe == import_name:
            return asset.package
    raise KeyError(f"{import_name!r} is not an offline asset: add it to tlhelpers.assets.ASSETS")


def install_hint(import_name: str, extra: str) -> str:
    """The command that installs the package of ``import_name`` (and its course extra ``extra``)."""
    return f"pip install {pip_package(import_name)}  (or: pip install -e '.[{extra}]' in the course repository)"


def package_folder(import_name: str, what: str, *parts: str, extra: str,
                   error: type[Exception] | None = None) -> Path:
    """The path ``parts`` inside the installed package ``import_name`` (which is not imported).

    When the package is missing, raises ``error`` (default :class:`tlhelpers.data.DataNotFoundError`, a
    ``FileNotFoundError``) saying that ``what`` comes from it and the ``pip install`` command; when the package is
    there but the path is not, a ``DataNotFoundError`` saying to reinstall it.
    """
    from tlhelpers.data import DataNotFoundError

    package = pip_package(import_name)
    spec = importlib.util.find_spec(import_name)
    if spec is None or not spec.submodule_search_locations:
        raise (error or DataNotFoundError)(
            f"{what} not found: it comes from the Python package {package!r}, which is not installed. "
            f"Install it with:  {install_hint(import_name, extra)}")
    path = Path(list(spec.submodule_search_locations)[0]).joinpath(*parts)
    if not path.exists():
        raise DataNotFoundError(f"{path} is missing: the package {package!r} is broken. Reinstall it with:  "
                                f"pip install --force-reinstall {package}")
    return path
