# Two commands on a fresh machine:  `make run`  and  `make test`.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.tesla-installed
PIP     := $(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt
# jlpm ships with jupyter-builder in the venv
JLPM    := PATH="$(abspath $(VENV))/bin:$$PATH" jlpm

.PHONY: install run demo test test-keras lint bench clean labextension test-js

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	HATCH_JUPYTER_BUILDER_SKIP_NPM=1 $(PIP) -e '.[all,test]'
	$(PY) -m ipykernel install --sys-prefix --name tesla-lab --display-name 'TESLA Lab (Python)' >/dev/null
	touch $(STAMP)

install: $(STAMP)

# the dashboard on http://127.0.0.1:5006: the project around the current folder, else a demo project with samples
run: $(STAMP)
	$(PY) -m tesla_lab.ui.serve $(if $(PROJECT),--project $(PROJECT))

demo: $(STAMP)
	$(PY) -m tesla_lab.demo

lint: $(STAMP)
	$(PY) -m ruff check tesla_lab tesla tests bench

test: $(STAMP) lint labextension test-js test-keras
	env -u KERAS_BACKEND -u TESLA_KERAS_BACKEND $(PY) -m pytest

# Keras reads KERAS_BACKEND at import: one pytest process per backend (the main run leaves these tests out)
KERAS_BACKENDS ?= tensorflow jax torch
test-keras: $(STAMP)
	@set -e; for b in $(KERAS_BACKENDS); do echo "== Keras backend $$b"; \
	  TESLA_KERAS_BACKEND=$$b $(PY) -m pytest -p no:cacheprovider tests/keras tesla_lab/keras; done

# The JupyterLab extension is committed prebuilt (tesla_lab/labextension) so pip users and CI need no node;
# rebuild only when extensions/ changed (content hash vs the stamp the last build wrote; never file times).
labextension: $(STAMP)
	@if $(PY) extensions/scripts/source_hash.py --check; then echo "tesla_lab/labextension is up to date"; else \
	  set -e; cd extensions; $(JLPM) install --immutable; $(JLPM) build:prod; cd ..; \
	  HATCH_JUPYTER_BUILDER_SKIP_NPM=1 $(PIP) --no-deps -e .; fi  # the -e refreshes the copy in $(VENV)/share

test-js: $(STAMP)
	@if command -v node >/dev/null 2>&1; then cd extensions && $(JLPM) install --immutable && $(JLPM) test; \
	else echo "SKIPPED: the JupyterLab extension's jest tests need node >= 18 (apt-get install nodejs npm)"; fi

bench: $(STAMP)
	$(PY) bench/trainer_overhead.py
	$(PY) bench/peers.py --quick
	$(PY) bench/digits_tt.py

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
