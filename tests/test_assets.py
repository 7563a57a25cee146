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


def test_groups_include_the_earlier_ones(monkeypatch, capsys):
    """--for tests asks for the course's data, the grading sandbox and the test servers; --for course only data."""
    fakes = (assets.Asset("Data", "apt", "fake-data", "/nonexistent/a", "01"),
             assets.Asset("Sandbox", "apt", "fake-sandbox", "/nonexistent/b", "grading", group="grading"),
             assets.Asset("Server", "apt", "fake-server", "/nonexistent/c/*", "tests", group="tests"))
    monkeypatch.setattr(assets, "ASSETS", fakes)
    monkeypatch.setattr(assets.os, "geteuid", lambda: 1000)
    assert assets.main(["--install", "--for", "course"]) == 1
    err = capsys.readouterr().err
    assert "fake-data" in err and "fake-sandbox" not in err and "fake-server" not in err
    assert assets.main(["--install", "--for", "tests"]) == 1
    err = capsys.readouterr().err
    assert "install -y --no-install-recommends fake-data fake-sandbox fake-server" in err


def test_every_package_the_tests_need_is_an_asset_the_setup_installs():
    """The README's `make test` installs what the tests use: bubblewrap, PostgreSQL's server and Chromium are
    assets of the `tests` group (a fresh machine once failed 6 tests because only .ci/run installed bubblewrap)."""
    from pathlib import Path
    needed = {a.package: a for a in assets.ASSETS}
    for package in ("bubblewrap", "postgresql", "chromium", "fonts-noto-color-emoji", "fonts-symbola",
                    "unicode-data", "dataset-fashion-mnist", "wordnet-base"):
        assert package in needed, package
    assert {a.package for a in assets.ASSETS if assets._in_group(a, "course")} >= {"dataset-fashion-mnist"}
    assert not assets._in_group(needed["bubblewrap"], "course") and assets._in_group(needed["bubblewrap"], "grading")
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    assert "test: test-setup" in makefile and "--install --for tests" in makefile
    assert "autograde: grading-setup" in makefile
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "apt-get install" not in ci, ".ci/run must not install what the README's commands do not"
