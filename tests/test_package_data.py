"""Finding an installed package's data folder, or naming the pip package (from tlhelpers.assets.ASSETS)."""

import importlib.util

import pytest

from tlhelpers import assets
from tlhelpers.data import DataNotFoundError
from tlhelpers.package_data import install_hint, package_folder, pip_package


def test_pip_names_come_from_the_asset_list():
    for asset in assets.ASSETS:
        if asset.kind == "pip":
            assert pip_package(asset.probe) == asset.package
            assert f"pip install {asset.package}" in install_hint(asset.probe, "nlp")
    with pytest.raises(KeyError, match="ASSETS"):
        pip_package("not_an_asset")


def test_missing_package_and_missing_file(monkeypatch):
    folder = package_folder("gensim", "gensim's test data", "test", "test_data", extra="nlp")
    assert (folder / "wordsim353.tsv").is_file()
    with pytest.raises(DataNotFoundError, match="pip install --force-reinstall gensim"):
        package_folder("gensim", "a file", "no_such_file.txt", extra="nlp")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gensim" else real(name, *a))
    with pytest.raises(DataNotFoundError, match=r"pip install gensim .*\.\[nlp\]"):
        package_folder("gensim", "gensim's test data", extra="nlp")
    with pytest.raises(ModuleNotFoundError, match="pip install gensim"):
        package_folder("gensim", "gensim's test data", extra="nlp", error=ModuleNotFoundError)
