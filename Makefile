# Quick start: `make demo` (offline plan, no AWS account needed) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test bench plan check venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m govctl demo

plan: $(STAMP)
	$(PY) -m mlgov.plan

check: $(STAMP)
	$(PY) -m mlgov.check

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile

bench: $(STAMP)
	$(PY) bench/plan_bench.py
	$(PY) bench/member_plan_bench.py
	$(PY) bench/runtime_bench.py
	$(PY) bench/govctl_bench.py

clean:
	rm -rf $(VENV) build *.egg-info artifacts
