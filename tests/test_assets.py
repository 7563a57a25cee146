from tlhelpers import assets


def test_assets_table_and_missing(monkeypatch, capsys):
    assert assets.main([]) in (0, 1)
    out = capsys.readouterr().out
    assert "Fashion-MNIST" in out and "dataset-fashion-mnist" in out


def test_missing_debian_package_prints_the_command(monkeypatch, capsys):
    fake = assets.Asset("Fake", "apt", "fake-debian-package", "/nonexistent/file", "xx")
    monkeypatch.setattr(assets, "ASSETS", (fake,))
    monkeypatch.setattr(assets.os, "geteuid", lambda: 1000)
    assert assets.main(["--install"]) == 1
    err = capsys.readouterr().err
    assert "sudo apt-get update && sudo apt-get install -y --no-install-recommends fake-debian-package" in err


def test_fashion_dir_from_environment_counts_as_present(tmp_path, monkeypatch):
    monkeypatch.setenv("TLHELPERS_FASHION_MNIST_DIR", str(tmp_path))
    assert assets.ASSETS[0].present()
