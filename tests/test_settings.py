import json
import random
import subprocess
import sys

import numpy as np
import pytest

from tlhelpers import settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    monkeypatch.delenv("TLHELPERS_PROFILE", raising=False)
    monkeypatch.delenv("TLHELPERS_METRICS", raising=False)


def test_profile_resolution(monkeypatch):
    assert settings.resolve_profile() == "ci"
    assert settings.resolve_profile("full") == "full"
    monkeypatch.setenv("TLHELPERS_PROFILE", "smoke")
    assert settings.resolve_profile("ci") == "smoke"
    monkeypatch.setenv("TLHELPERS_PROFILE", "huge")
    with pytest.raises(ValueError, match="smoke, ci, full"):
        settings.resolve_profile()


def test_pick_requires_every_profile():
    assert settings.pick("smoke", {"smoke": 1, "ci": 2, "full": 3}) == 1
    with pytest.raises(ValueError, match="missing"):
        settings.pick("ci", {"ci": 2})


def test_seed_everything_is_reproducible():
    settings.seed_everything(5)
    first = (random.random(), np.random.rand())
    settings.seed_everything(5)
    assert (random.random(), np.random.rand()) == first
    with pytest.raises(ValueError):
        settings.seed_everything(-1)


def test_seed_everything_seeds_torch_when_imported():
    torch = pytest.importorskip("torch")
    settings.seed_everything(3)
    a = torch.rand(3)
    settings.seed_everything(3)
    assert torch.equal(a, torch.rand(3))


def test_choose_device():
    assert settings.choose_device() in ("cuda", "mps", "cpu")
    assert settings.choose_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="unknown device"):
        settings.choose_device("tpu")


def test_setup_chooses_the_device_only_when_asked(tmp_path, monkeypatch):
    # Checking for a GPU imports PyTorch (~2 s): a scikit-learn or Keras notebook that never reads run.device
    # must not pay for it.
    code = ("import sys; from tlhelpers import settings; run = settings.setup('smoke'); "
            "imported = 'torch' in sys.modules; device = run.device; print(imported, device)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "False" and out[1] in ("cuda", "mps", "cpu")
    monkeypatch.chdir(tmp_path)
    assert settings.setup(device="cpu").device == "cpu"
    with pytest.raises(ValueError, match="unknown device"):
        settings.setup(device="tpu")


def test_metrics_are_written_atomically_and_fresh(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"metrics": {"stale": 1}}))
    run = settings.setup("smoke", seed=1, metrics_path=path)
    assert settings.load_metrics(path) == {}, "an earlier run's metrics must not survive"
    run.record("accuracy", np.float32(0.5))
    settings.record_metric("curve", np.array([1, 2]))
    saved = json.loads(path.read_text())
    assert saved["profile"] == "smoke" and saved["seed"] == 1
    assert saved["metrics"] == {"accuracy": 0.5, "curve": [1, 2]}
    with pytest.raises(TypeError, match="metric values"):
        run.record("bad", object())
    with pytest.raises(ValueError, match="name"):
        run.record("", 1)


def test_metrics_path_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TLHELPERS_METRICS", str(tmp_path / "env.json"))
    run = settings.setup()
    run.record("x", 1)
    assert settings.load_metrics(tmp_path / "env.json") == {"x": 1}


def test_no_metrics_file_without_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = settings.setup()
    assert run.record("x", 2) == 2 and run.metrics == {"x": 2}
    assert list(tmp_path.iterdir()) == []


def test_import_is_light():
    code = ("import sys, time; t = time.perf_counter(); import tlhelpers, tlhelpers.settings, tlhelpers.data, "
            "tlhelpers.shift, tlhelpers.checks, tlhelpers.plots, tlhelpers.cache; "
            "heavy = [m for m in ('torch', 'tensorflow', 'keras', 'matplotlib', 'transformers', 'gensim') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
