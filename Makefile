# Quick start: `make demo` (offline plan, no AWS account needed) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test bench plan check venv browser clean

venv: $(STAMP)

$(STAMP): pyproject.toml policies/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	# The policy pack's own virtualenv (PulumiPolicy.yaml: virtualenv: venv), with only its requirements.
	test -x policies/venv/bin/python || $(PYTHON) -m venv policies/venv
	policies/venv/bin/python -m pip install --quiet -r policies/requirements.txt
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m govctl demo

plan: $(STAMP)
	$(PY) -m mlgov.plan

check: $(STAMP)
	$(PY) -m mlgov.check

test: $(STAMP) browser
	$(PY) -m pytest -n 2 --dist loadfile

# The dashboard's browser test needs Debian's chromium and chromium-driver: installed here when this
# user may (root or passwordless sudo), otherwise one line naming them.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && exit 0; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO=sudo; \
	else echo "make test needs Debian's chromium and chromium-driver: sudo apt-get install chromium chromium-driver" >&2; exit 1; fi; \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null

bench: $(STAMP)
	$(PY) bench/plan_bench.py
	$(PY) bench/member_plan_bench.py
	$(PY) bench/runtime_bench.py
	$(PY) bench/govctl_bench.py

clean:
	rm -rf $(VENV) policies/venv build *.egg-info artifacts
