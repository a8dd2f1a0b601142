# Jotty: every target creates the virtual environment it needs on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench check services clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/jotty demo

services:
	bash scripts/services.sh
	bash scripts/browser.sh

# Two test processes (pytest-xdist): the suite is mostly waiting on real processes, servers and
# browsers; every test has its own files, PostgreSQL schema, Redis prefix and ports.
# Bytecode first: where PYTHONDONTWRITEBYTECODE is set (it is on this CI machine), every jotty process
# the tests start would compile src/ again (0.2 s CPU each, a third of its start-up).
test: $(STAMP) services
	$(PY) -m compileall -q src tests
	$(PY) -m pytest -n 2

check: $(STAMP)
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/ruff format --check src tests bench examples
	$(VENV)/bin/mypy

# Benchmarks run as modules (python -m bench.NAME): bench/queue.py would shadow the stdlib queue.
bench: $(STAMP) services
	$(PY) -m bench.queue
	$(PY) -m bench.patterns
	$(PY) -m bench.learning
	$(PY) -m bench.registry
	$(PY) -m bench.registry --embedder wordllama
	$(PY) -m bench.distributed
	$(PY) -m bench.memory
	$(PY) -m bench.recording
	$(PY) -m bench.dashboard
	$(PY) -m bench.memory_conductor
	$(PY) -m bench.context
	$(PY) -m bench.supervise
	$(PY) -m bench.llm_chaos

clean:
	rm -rf $(VENV) .jotty .pytest_cache .mypy_cache .ruff_cache
