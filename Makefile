# The course's commands. `make course` and `make test` set up what is missing first.
#   make setup      .venv with the pinned packages (pip install -e '.[all]'), Debian data packages (apt-get as root)
#   make course     run every notebook in solutions/ with papermill (PROFILE=ci by default) into build/
#   make reference  re-execute solutions/ in place as reference outputs (ONLY=<name> for one notebook)
#   make test       the whole test suite (what CI runs); make test-fast skips the slow notebook tests
#   make lab        JupyterLab on the student release in notebooks/
#   make release    regenerate notebooks/ from solutions/ with nbgrader
#   make autograde  grade build/submitted/<student>/<assignment>/ with nbgrader (smoke profile)

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= ci
WORKERS ?=
# Tests run in parallel workers (pytest-xdist); notebook executions dominate and spread across them.
TEST_WORKERS ?= 2
PYTEST_ARGS ?=
# nbgrader runs `alembic` and papermill starts kernels by name: both must find the .venv first.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
ASSIGNMENTS := $(notdir $(patsubst %/,%,$(wildcard solutions/*/)))

.PHONY: setup assets course reference test test-fast lab release autograde feedback export clean

setup: $(VENV)/.installed assets

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -e ".[all]"
	touch $@

assets: $(VENV)/.installed
	$(PY) -m tlhelpers.assets --install

course: setup
	$(PY) -m tlhelpers.course run --profile $(PROFILE) $(if $(WORKERS),--workers $(WORKERS))

# Re-execute solutions/ in place in the ci profile (their committed reference outputs); ONLY=<name> for one.
reference: setup
	$(PY) -m tlhelpers.course reference $(if $(ONLY),--only $(ONLY))

test: setup
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -n $(TEST_WORKERS) -m "not slow" $(PYTEST_ARGS)

lab: setup
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks

release: setup
	mkdir -p build
	for a in $(ASSIGNMENTS); do $(VENV)/bin/nbgrader generate_assignment "$$a" --force || exit 1; done

autograde: setup
	mkdir -p build
	for a in $(ASSIGNMENTS); do TLHELPERS_PROFILE=smoke $(VENV)/bin/nbgrader autograde "$$a" || exit 1; done

feedback: setup
	for a in $(ASSIGNMENTS); do $(VENV)/bin/nbgrader generate_feedback "$$a" || exit 1; done

export: setup
	$(VENV)/bin/nbgrader export --to build/grades.csv

clean:
	rm -rf build
