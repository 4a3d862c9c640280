# Quick start:  make run   (set up .venv and open the live TUI on the built-in default)
#               make test  (set up .venv, `make lint`, then the whole test suite; .ci/run calls this)
#               make lint  (ruff check, ruff format --check, mypy infbench)
# Override the PyTorch build:  make run TORCH_SPEC="torch==2.13.0"   (default: the CPU wheel)
VENV ?= .venv
PYTHON ?= python3
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.infbench-installed
ARGS ?=

.PHONY: setup run headless test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints/stack.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first: an unpinned torch (pulled in by anything later) would fetch a multi-GB CUDA build
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	# every other version from the one constraints file (what installs together with torch 2.13: see it)
	$(PY) -m pip install -q -c constraints/stack.txt -e ".[all,test]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/infbench-tui $(ARGS)

headless: $(STAMP)
	$(VENV)/bin/infbench-tui run --headless $(ARGS)

# lint first: a lint or type error fails `make test` (and so CI) before the suite runs
test: lint
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check infbench tests bench
	$(VENV)/bin/ruff format --check infbench tests bench
	$(VENV)/bin/mypy infbench

bench: $(STAMP)
	for f in bench/*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
