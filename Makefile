# Two commands on a fresh machine:  `make run`  and  `make test`.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.tesla-installed
PIP     := $(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -e '.[all,test]'
	$(PY) -m ipykernel install --sys-prefix --name tesla-lab --display-name 'TESLA Lab (Python)' >/dev/null
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m tesla_lab.demo

lint: $(STAMP)
	$(PY) -m ruff check tesla_lab tests bench

test: $(STAMP) lint
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) bench/trainer_overhead.py
	$(PY) bench/tt_linear.py
	$(PY) bench/digits_tt.py

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
