# Two commands on a fresh machine: `make run` opens the app, `make test` runs the checks and the whole suite.
# Both create .venv when it is missing and install the project into it.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# A plain `torch` requirement resolves to a multi-GB CUDA build on Linux; pin the version we test with.
# Override for another build, e.g. `make run TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"`.
TORCH_SPEC ?= torch==2.13.0

.PHONY: run lint test bench clean-venv

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=python3.11)")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e ".[test,cluster]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/avatar-studio gui

# Import contracts (Qt only in gui/, engine layers downwards), types, and a small ruff rule set.
lint: $(STAMP)
	$(VENV)/bin/lint-imports
	$(PY) -m mypy
	$(PY) -m ruff check avatar_studio tests benchmarks

test: lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/bench_model.py

clean-venv:
	rm -rf $(VENV)
