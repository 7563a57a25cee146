# The course's commands. `make course` and `make test` set up what is missing first.
#   make setup      .venv with the pinned packages (pip install -e '.[all]'), Debian data packages (apt-get as root)
#   make course     run every notebook in solutions/ with papermill (PROFILE=ci by default) into build/
#   make reference  re-execute solutions/ in place as reference outputs (ONLY=<name> for one notebook)
#   make test       the whole test suite (what CI runs); make test-fast skips the slow notebook tests
#   make lab        JupyterLab on the student release in notebooks/, without nbgrader's instructor tools
#   make lab-instructor  JupyterLab on the repository, with Formgrader and Create Assignment
#   make student-copy DEST=<folder>  what students may have: release notebooks, tlhelpers, environment files
#   make release    regenerate notebooks/ from solutions/ with nbgrader, then verify the release is clean
#   make collect    ASSIGNMENT=<name> FROM=<folder or LMS zip>: submissions into build/submitted/, with a report
#   make autograde  grade submissions in the sandbox (smoke profile); ASSIGNMENT=, STUDENT= (re-grade one), GRADING_WORKERS=
#   make feedback   list the HTML feedback pages autograde wrote (build/feedback/<student>/<assignment>/)
#   make export     grades to build/grades.csv (nbgrader export)

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= ci
WORKERS ?=
# Tests run in parallel workers (pytest-xdist); notebook executions dominate and spread across them, longest first
# (tests/conftest.py, from tests/durations.json). --durations=30 prints what cost most; each full run also writes
# every test's time to build/test-durations.json.
TEST_WORKERS ?= 2
PYTEST_ARGS ?=
# nbgrader runs `alembic` and papermill starts kernels by name: both must find the .venv first.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
ASSIGNMENTS := $(notdir $(patsubst %/,%,$(wildcard solutions/*/)))
# This Makefile's folder (the tests run it with -C on a copy of the course): the student lab settings live here.
COURSE_ROOT := $(patsubst %/,%,$(dir $(abspath $(firstword $(MAKEFILE_LIST)))))

.PHONY: setup assets grading-setup test-setup course reference test test-fast lab lab-instructor student-copy release collect autograde feedback export clean

setup: $(VENV)/.installed assets

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -e ".[all]"
	touch $@

# Debian packages: `course` for every student, `grading` adds the sandbox, `tests` the test-only servers. As root
# they are apt-get installed; otherwise the command stops and prints the exact sudo command.
assets: $(VENV)/.installed
	$(PY) -m tlhelpers.assets --install --for course

grading-setup: setup
	$(PY) -m tlhelpers.assets --install --for grading

# The JupyterHub test's proxy, configurable-http-proxy, from the npm registry into build/node (nothing global).
# 5.0.1: the newest whose dependencies run on Debian bookworm's Node 18.
CHP_VERSION := 5.0.1
PROXY := build/node/node_modules/.bin/configurable-http-proxy

test-setup: setup
	$(PY) -m tlhelpers.assets --install --for tests
	test -x $(PROXY) || npm install --prefix build/node --no-audit --no-fund --no-save configurable-http-proxy@$(CHP_VERSION)

course: setup
	$(PY) -m tlhelpers.course run --profile $(PROFILE) $(if $(WORKERS),--workers $(WORKERS))

# Re-execute solutions/ in place in the ci profile (their committed reference outputs); ONLY=<name> for one.
reference: setup
	$(PY) -m tlhelpers.course reference $(if $(ONLY),--only $(ONLY))

test: test-setup
	$(PY) -m pytest -n $(TEST_WORKERS) --durations=30 $(PYTEST_ARGS)

test-fast: test-setup
	$(PY) -m pytest -n $(TEST_WORKERS) -m "not slow" --durations=10 $(PYTEST_ARGS)

# JupyterLab for a student on notebooks/: each assignment is released into the local exchange (build/exchange) so
# nbgrader's Assignment List shows it; JUPYTER_CONFIG_PATH gives the student settings (tlhelpers/jupyter/student:
# no Formgrader, Create Assignment or Courses) and nbgrader_config.py (for the Assignment List and Validate).
lab: setup
	for a in $(notdir $(patsubst %/,%,$(wildcard notebooks/*/))); do test -d build/exchange/*/outbound/$$a || $(VENV)/bin/nbgrader release_assignment "$$a" --log-level=WARN || exit 1; done
	JUPYTER_CONFIG_PATH="$(COURSE_ROOT)/tlhelpers/jupyter/student:$(CURDIR)$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" $(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks $(LAB_ARGS)

# The instructor's JupyterLab on the whole repository, with nbgrader's Formgrader and Create Assignment.
lab-instructor: setup
	JUPYTER_CONFIG_PATH="$(CURDIR)$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" $(VENV)/bin/jupyter lab $(LAB_ARGS)

# The student's copy of the course (release notebooks, tlhelpers without the grader, environment files, a student
# README) in a new folder DEST: what students may have, and nothing else.
student-copy:
	@test -n "$(DEST)" || { echo "usage: make student-copy DEST=<new folder>"; exit 2; }
	$(PY) -m tlhelpers.student_copy "$(DEST)"

release: setup
	mkdir -p build
	for a in $(ASSIGNMENTS); do $(VENV)/bin/nbgrader generate_assignment "$$a" --force || exit 1; done
	$(PY) -m tlhelpers.grading verify-release

# The instructor's workflow; the scores come from tlhelpers.grading (sandbox + probes), not nbgrader autograde.
ASSIGNMENT ?=
GRADING_WORKERS ?= 1
collect: setup
	@test -n "$(ASSIGNMENT)" -a -n "$(FROM)" || { echo "usage: make collect ASSIGNMENT=<name> FROM=<folder or zip>"; exit 2; }
	$(PY) -m tlhelpers.grading collect "$(ASSIGNMENT)" "$(FROM)"

autograde: grading-setup
	mkdir -p build
	for a in $(or $(ASSIGNMENT),$(ASSIGNMENTS)); do \
	  test -d "build/submitted" || { echo "nothing collected yet: make collect ASSIGNMENT=... FROM=..."; exit 2; }; \
	  $(PY) -m tlhelpers.grading grade "$$a" --workers $(GRADING_WORKERS) $(if $(STUDENT),--student $(STUDENT)) || exit 1; \
	done

feedback:
	@find build/feedback -name feedback.html 2>/dev/null | sort || true

export: setup
	$(VENV)/bin/nbgrader export --to build/grades.csv

clean:
	rm -rf build
