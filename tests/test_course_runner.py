"""The course command on small notebooks made here: parameters, metrics, thresholds, failures, the table."""

import json
import textwrap

import nbformat
import pytest

from tlhelpers import course, registry
from tlhelpers.layout import CourseLayout

PARAMS = 'profile = "ci"\nseed = 0\nmetrics_path = None\n'
BODY = textwrap.dedent("""
    from tlhelpers import settings
    run = settings.setup(profile, seed=seed, metrics_path=metrics_path)
    n = run.pick({"smoke": 1, "ci": 2, "full": 3})
    run.record("n", n)
    run.record("accuracy", 0.9)
""")


def make_notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for i, source in enumerate(cells):
        cell = nbformat.v4.new_code_cell(source)
        if i == 0 and source == PARAMS:
            cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.fixture
def course_dir(tmp_path):
    make_notebook(tmp_path / "solutions" / "a1" / "good.ipynb", [PARAMS, BODY])
    make_notebook(tmp_path / "solutions" / "a1" / "broken.ipynb", [PARAMS, BODY, "1 / 0"])
    make_notebook(tmp_path / "solutions" / "a2" / "strict.ipynb", [PARAMS, BODY])
    make_notebook(tmp_path / "solutions" / "a2" / "dies.ipynb", [PARAMS, BODY, "import os\nos._exit(1)"])
    registry = tmp_path / "notebooks.yaml"
    registry.write_text(textwrap.dedent("""
        notebooks:
          - path: solutions/a1/good.ipynb
            timeout: {smoke: 60, ci: 60, full: 60}
            thresholds: {smoke: {n: {min: 1, max: 1}}}
          - path: solutions/a1/broken.ipynb
            timeout: {smoke: 60, ci: 60, full: 60}
          - path: solutions/a2/strict.ipynb
            timeout: {smoke: 60, ci: 60, full: 60}
            thresholds: {smoke: {accuracy: {min: 0.95}, missing_metric: {min: 0}}}
          - path: solutions/a2/dies.ipynb
            timeout: {smoke: 60, ci: 60, full: 60}
    """))
    return tmp_path, registry


@pytest.mark.slow
def test_run_course_keeps_going_and_reports(course_dir, monkeypatch):
    root, registry_file = course_dir
    monkeypatch.setenv("TLHELPERS_PROFILE", "full")  # must not override the injected profile
    layout = CourseLayout(root)
    build = layout.build
    results = course.run_course("smoke", workers=2, build_dir=build, registry=registry_file, root=root)
    status = {r.notebook: r.status for r in results}
    assert status == {"a1/good": "ok", "a1/broken": "error", "a2/strict": "thresholds", "a2/dies": "dead kernel"}
    broken = next(r for r in results if r.notebook == "a1/broken")
    assert "ZeroDivisionError" in broken.detail
    strict = next(r for r in results if r.notebook == "a2/strict")
    assert "accuracy = 0.9 is below the minimum 0.95" in strict.detail
    assert "'missing_metric' was not recorded" in strict.detail
    metrics = json.loads(layout.metrics("a1", "good").read_text())
    assert metrics["profile"] == "smoke" and metrics["metrics"]["n"] == 1
    assert layout.executed("a1", "good").is_file()
    table = layout.course_table("smoke").read_text()
    assert "| a1/good | smoke |" in table and "1/4 ok" in table
    saved = json.loads(layout.course_table("smoke", ".json").read_text())
    assert [r["status"] for r in saved] == ["ok", "error", "thresholds", "dead kernel"]
    report = layout.report(".md").read_text()
    assert "## a2/strict" in report and "| accuracy | 0.9 | min 0.95 |" in report
    assert "ZeroDivisionError" in layout.report(".html").read_text()


def test_undeclared_parameters_are_refused(tmp_path):
    nb = tmp_path / "a" / "n.ipynb"
    make_notebook(nb, [PARAMS, BODY])
    assert course.undeclared_parameters(nb, ["profile", "seed"]) == []
    assert course.undeclared_parameters(nb, ["profile", "n_epochs"]) == ["n_epochs"]
    spec = registry.NotebookSpec(path=nb.relative_to(tmp_path), timeouts={"smoke": 9, "ci": 9, "full": 9},
                               parameters={"smoke": {"n_epochs": 3}})
    result = course.run_notebook(spec, "smoke", CourseLayout(tmp_path).build, root=tmp_path)
    assert result.status == "parameters" and "n_epochs" in result.detail


def test_parameters_cell_must_be_unique(tmp_path):
    nb = tmp_path / "n.ipynb"
    make_notebook(nb, ["x = 1", BODY])
    with pytest.raises(ValueError, match="exactly one cell tagged 'parameters'"):
        course.undeclared_parameters(nb, ["profile"])


def test_thresholds():
    assert registry.check_thresholds({"a": 0.5}, {"a": {"min": 0.4, "max": 0.6}}) == []
    assert registry.check_thresholds({"a": 0.3}, {"a": {"min": 0.4}}) == ["a = 0.3 is below the minimum 0.4"]
    assert registry.check_thresholds({"a": "x"}, {"a": {"min": 0}}) == ["metric 'a' was not recorded as a number"]


def test_registry_validation(tmp_path):
    bad = tmp_path / "r.yaml"
    bad.write_text("notebooks:\n  - path: x.ipynb\n    timeout: {ci: 5}\n")
    with pytest.raises(ValueError, match="no timeout for profile"):
        registry.load_registry(bad, tmp_path)
    bad.write_text("notebooks:\n  - path: x.ipynb\n    timeout: {smoke: 5, ci: 5, full: 5}\n")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        registry.load_registry(bad, tmp_path)


def test_the_course_registry_lists_every_solution_notebook(repo_root):
    listed = {spec.path.as_posix() for spec in registry.load_registry()}
    on_disk = {p.relative_to(repo_root).as_posix() for p in (repo_root / "solutions").glob("*/*.ipynb")}
    assert listed == on_disk, "tlhelpers/notebooks.yaml and solutions/ disagree"


def test_the_registry_ships_with_the_package(repo_root):
    """The registry is package data, outside tests/, and the one place it is read from."""
    import tomllib

    assert registry.REGISTRY == repo_root / "tlhelpers" / "notebooks.yaml"
    config = tomllib.loads((repo_root / "pyproject.toml").read_text())
    assert "notebooks.yaml" in config["tool"]["setuptools"]["package-data"]["tlhelpers"]
    spec = next(s for s in registry.load_registry() if s.assignment == "01_domains_and_tasks")
    assert spec.grading["wrong_answer"]["grade_id"] and spec.stem == "domains_and_tasks"
