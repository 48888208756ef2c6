# flink-ml-udf: everything installs into .venv at the repo root from PyPI.
#   make run    set up and run the demo job (local minicluster, datagen, example bundles)
#   make test   set up and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check --quiet

.PHONY: run test install install-dev examples bench clean

$(VENV)/.installed-run: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed-run
	$(PIP) install -e '.[dev]'
	touch $@

install: $(VENV)/.installed-run
install-dev: $(VENV)/.installed-dev

run: install
	$(PY) jobs/predict_job.py --config conf/application.yaml \
		--sql sql/features_datagen.sql --sql sql/predict.sql

test: install-dev
	$(PY) -m pytest $(PYTEST_ARGS)

examples: install-dev
	$(PY) scripts/build_example_bundles.py

bench: install-dev
	$(PY) bench/flink_bench.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
