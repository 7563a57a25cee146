"""The project's set-up files agree with each other and are valid."""

import re
import tomllib

import yaml


def _pins(requirements):
    pins = {}
    for req in requirements:
        if req.startswith("tlhelpers"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", req.strip())
        assert match, f"{req!r} is not pinned with =="
        name = match.group(1).lower().replace("_", "-")
        assert pins.get(name, match.group(2)) == match.group(2), f"{name} pinned twice with different versions"
        pins[name] = match.group(2)
    return pins


def test_environment_yml_has_the_same_versions_as_pyproject(repo_root):
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared += extra
    env = yaml.safe_load((repo_root / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert _pins(pip_section) == _pins(declared)
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python == "python=3.11"


def test_extras_are_the_documented_ones(repo_root):
    extras = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(extras) == {"torch", "keras", "nlp", "course", "dev", "all"}
    assert "torch==2.13.0" in extras["torch"], "torch must stay pinned to the CPU build the machines carry"
    assert extras["all"] == ["tlhelpers[torch,keras,nlp,course,dev]"]


def test_workflows_are_valid(repo_root):
    cpu = yaml.safe_load((repo_root / ".github/workflows/cpu.yml").read_text())
    gpu = yaml.safe_load((repo_root / ".github/workflows/gpu.yml").read_text())
    cpu_steps = [s.get("run", "") for s in cpu["jobs"]["test"]["steps"]]
    assert any("bash .ci/run" in r for r in cpu_steps)
    job = gpu["jobs"]["full-profile"]
    assert job["runs-on"] == ["self-hosted", "gpu"]
    runs = " ".join(s.get("run", "") for s in job["steps"])
    assert "make course PROFILE=full" in runs
    uploads = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert uploads and all(f in uploads[0]["with"]["path"] for f in
                           ("build/metrics/", "build/executed/", "build/report.html", "build/report_files/"))
    assert "list_physical_devices('GPU')" in runs and "torch.cuda.is_available()" in runs
    # `on:` parses as True in YAML 1.1; both workflows must have triggers.
    assert cpu.get(True) or cpu.get("on")
    assert gpu.get(True) or gpu.get("on")


def test_ci_runs_the_readme_test_command(repo_root):
    readme = (repo_root / "README.md").read_text()
    ci = (repo_root / ".ci/run").read_text()
    assert "make test" in ci
    assert "make course" in readme and "make test" in readme


def test_makefile_targets(repo_root):
    makefile = (repo_root / "Makefile").read_text()
    for target in ("setup", "course", "test", "test-fast", "lab", "release", "autograde"):
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), f"make {target} is missing"


def test_registry_names_come_from_the_registry(repo_root):
    """tlhelpers.course does not re-export the registry's names: callers import them from tlhelpers.registry."""
    import re

    from tlhelpers import course

    names = ("NotebookSpec", "RunResult", "load_registry", "check_thresholds")
    assert not set(names) & set(course.__all__)
    pattern = re.compile(r"\bcourse\.(" + "|".join(names) + r")\b|from tlhelpers\.course import [^\n]*\b(" +
                         "|".join(names) + r")\b")
    users = [f"{path.relative_to(repo_root)}: {m.group(0)}" for folder in ("tlhelpers", "tests", "benchmarks")
             for path in (repo_root / folder).rglob("*.py") for m in pattern.finditer(path.read_text())]
    assert not users, users


def test_ipc_kernels_are_for_the_tests_only(repo_root):
    """The tests' kernels use IPC (tests/jupyter); the course's own Jupyter settings keep TCP (IPC fails on Windows)."""
    assert 'transport = "ipc"' in (repo_root / "tests" / "jupyter" / "jupyter_config.py").read_text()
    for path in [repo_root / "nbgrader_config.py", *(repo_root / "tlhelpers" / "jupyter").rglob("*")]:
        if path.is_file():
            assert "ipc" not in path.read_text().lower(), f"{path} sets IPC transport: students' kernels must keep TCP"
