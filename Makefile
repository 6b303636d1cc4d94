# Two commands do all set-up on a fresh machine:
#   make run   - create .venv, install the venue, start it on embedded defaults with the demo config
#   make test  - install the dev extras (and QuickFIX for the interop tests) and run the whole suite
# The interpreter the venv is made from: Debian's python3.11 where it can make a venv and build
# C extensions (it is built with profile-guided optimisation and LTO, libpython linked in),
# else python3 from PATH. pyenv's default build has neither: the gateway spent ~20% more CPU
# per request on it (bench/results/e2e-interpreter-*.json). PYTHON=... overrides.
PYTHON ?= $(shell /usr/bin/python3.11 -c 'import ensurepip, sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null && echo /usr/bin/python3.11 || echo python3)
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(PY) -m pip
CONFIG ?= config/demo.toml

.PHONY: run test install install-dev lint typecheck bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml setup.py $(wildcard engine/*.c engine/*.h fix_gateway/*.c fix_gateway/*.h bench/*.c)
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install -q -e '.[dev]'
	# QuickFIX (interop tests, benchmark baseline) compiles from source once (~17 min),
	# then comes from the pip wheel cache.
	$(PIP) install -q 'quickfix==1.16.0'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: $(VENV)/.installed
	$(VENV)/bin/venue up --config $(CONFIG)

test: $(VENV)/.installed-dev
	$(PY) -m pytest -q -p no:cacheprovider tests
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

lint:
	$(VENV)/bin/ruff check .

typecheck:
	$(VENV)/bin/mypy

bench: $(VENV)/.installed-dev
	$(PY) -m bench.engine --json
	$(PY) -m bench.fix --json

clean:
	rm -rf build *.egg-info $(VENV) engine/*.so fix_gateway/*.so bench/*.so
