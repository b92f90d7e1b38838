# Two commands for a fresh clone: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTHON ?= python3
# Headless OpenGL (EGL) for MuJoCo's offscreen renderer.
SYSTEM_PACKAGES := libegl1 libegl-mesa0 libgl1-mesa-dri libopengl0

.PHONY: demo test lint bench install clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-runtime.txt requirements-test.txt requirements-nodeps.txt setup.py package.xml
	@missing=$$(command -v dpkg >/dev/null && for p in $(SYSTEM_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing; \
	  else echo "missing system packages for headless rendering: $$missing" \
	       "(sudo apt-get install $$missing)"; fi; \
	fi
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -r requirements.txt -r requirements-test.txt
	$(PY) -m pip install --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install --no-deps --no-build-isolation -e .
	touch $@

demo: $(STAMP)
	$(VENV)/bin/predctl bringup panda_reach --goals random --count 6

test: $(STAMP)
	$(PY) -m pytest -q test

lint: $(STAMP)
	$(PY) -m pytest -q test -m 'linter'

bench: $(STAMP)
	$(VENV)/bin/predctl bench --write docs/benchmarks.md

clean:
	rm -rf $(VENV) build *.egg-info
