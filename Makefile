# tap-hubspot-activity: developer entry points.
#   make install   venv + dev dependencies + the Meltano plugins the tests and demo use
#   make test      ruff, mypy (strict) and the whole pytest suite (Meltano, dbt and Airflow
#                  end-to-end tests included)
#   make lint      ruff and mypy only
#   make demo      emulator (or real portal) -> meltano run -> PostgreSQL -> dbt build,
#                  then a summary and what the detections found
#   make warehouse / warehouse-stop   the embedded PostgreSQL of the demo, for psql or a BI tool
#   make clean-demo   forget the demo's warehouse, bookmarks and counts

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MELTANO := $(BIN)/meltano

# The plugins the tests, the demo and the scheduled jobs run (dbt-postgres: the dbt
# project in transform/; target-jsonl: the monthly evidence export; tap-postgres--ocsf and
# target-jsonl--ocsf: the OCSF export; dbt-snowflake: the project on Snowflake, tested
# against fakesnow); target-snowflake is installed on demand:
# $(MELTANO) install loader target-snowflake
PLUGINS := tap-hubspot-activity target-postgres dbt-postgres target-jsonl \
	tap-postgres--ocsf target-jsonl--ocsf dbt-snowflake

VENV_STAMP := $(VENV)/.install-stamp
PLUGINS_STAMP := .meltano/.plugins-stamp

export MELTANO_SEND_ANONYMOUS_USAGE_STATS := false
# Nor a daily look at pypi.org for a newer Meltano from tests, the demo or a benchmark.
export MELTANO_CLI_DISABLE_VERSION_CHECK := true

.PHONY: install test demo warehouse warehouse-stop clean-demo

install: $(VENV_STAMP) $(PLUGINS_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV_STAMP): pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# Meltano installs plugins with uv, which writes no bytecode; where PYTHONDONTWRITEBYTECODE
# is set (as on this project's machines) every start of a plugin would compile its imports
# again: `dbt --version` took 4.8 to 6.1 CPU-s so, 2.1 to 2.3 s with the bytecode compiled
# once here.
$(PLUGINS_STAMP): meltano.yml pyproject.toml $(VENV_STAMP)
	UV_COMPILE_BYTECODE=1 $(MELTANO) install $(PLUGINS)
	touch $@

# CI and developers alike: style first (seconds), then every test; the Airflow test fails,
# never skips, without its virtualenv. TEST_WORKERS pytest-xdist workers, one test module
# each at a time (--dist loadfile), the slow modules first (conftest.py's order, which
# xdist would otherwise replace with the modules with most tests first), sharing one
# PostgreSQL and one dbt build (tests/shared.py). On 2 cores the suite is CPU-bound
# (870 to 1,300 CPU-s, by machine): 4 workers keep both cores busy where 3 left 15 % idle while
# servers answered. The CPU time, the modules per worker, and the 20 slowest tests and
# fixture set-ups close the run.
TEST_WORKERS ?= 4
test: install airflow-install lint
	AIRFLOW_TEST_REQUIRED=1 $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile \
		--no-loadscope-reorder --durations=20

.PHONY: lint
lint: $(VENV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy tap_hubspot_activity hubspot_activity_investigate

# The install step is told as it runs (stdlib Python, before the venv exists): on a cold
# machine pip is quiet for a minute, and a demo must never look hung.
demo:
	@$(PYTHON) -m scripts.steps install -- $(MAKE) --no-print-directory install
	@$(BIN)/python -m scripts.demo

warehouse: $(VENV_STAMP)
	@$(BIN)/python -m scripts.warehouse start

warehouse-stop: $(VENV_STAMP)
	@$(BIN)/python -m scripts.warehouse stop

clean-demo: $(VENV_STAMP)
	-$(BIN)/python -m scripts.warehouse stop
	-$(MELTANO) state clear --force dev:tap-hubspot-activity-to-target-postgres:emulator
	rm -rf .demo

# Apache Airflow for orchestrate/airflow/dags, in its own virtualenv: its pins conflict
# with Meltano's, and the DAGs only run meltano as a command. The official constraints
# file is on GitHub, so orchestrate/airflow/constraints.txt pins every package instead.
#   make airflow-install   .venv-airflow (idempotent; redone when the pins change)
#   make test-airflow      load the DAGs with Airflow, run DAG tasks against the emulator,
#                          and the fleet DAG under a real scheduler (tests/test_fleet.py)
# psycopg (3) is installed beside Airflow: a metadata database on PostgreSQL needs it.
AIRFLOW_VERSION := 3.3.2
AIRFLOW_VENV := .venv-airflow
AIRFLOW_CONSTRAINTS := orchestrate/airflow/constraints.txt
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.install-stamp

.PHONY: airflow-install test-airflow

airflow-install: $(AIRFLOW_STAMP)

$(AIRFLOW_VENV)/bin/python:
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	echo '*' > $(AIRFLOW_VENV)/.gitignore

$(AIRFLOW_STAMP): $(AIRFLOW_CONSTRAINTS) | $(AIRFLOW_VENV)/bin/python
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet "apache-airflow==$(AIRFLOW_VERSION)" \
		"psycopg[binary]" --constraint $(AIRFLOW_CONSTRAINTS)
	touch $@

# AIRFLOW_TEST_REQUIRED: fail, never skip, when .venv-airflow is missing.
test-airflow: install airflow-install
	AIRFLOW_TEST_REQUIRED=1 $(BIN)/python -m pytest tests/test_airflow.py tests/test_fleet.py

# The benchmark harness (benchmarks/README.md): one table, about 5 minutes on 2 cores.
#   make bench BENCH_ARGS=--quick   smaller data sets, one repeat
.PHONY: bench bench-fleet bench-warehouse
bench: $(VENV_STAMP)
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

# Loads and dbt builds at 15k, 150k and 1M events (benchmarks/warehouse.py): tap alone vs
# meltano run into an embedded PostgreSQL, the CPU split, dbt build, one hour later again.
#   make bench-warehouse BENCH_WAREHOUSE_ARGS=--quick   15k and 150k only
bench-warehouse: install
	$(BIN)/python -m benchmarks.warehouse $(BENCH_WAREHOUSE_ARGS)

# The fleet DAG under a real Airflow scheduler: 12 portals of the demo's volume with
# pool sizes 1 and 4 (benchmarks/fleet.py; not yet timed at full size).
#   make bench-fleet BENCH_FLEET_ARGS="--latency-ms 0 --portals 8"
bench-fleet: install airflow-install
	$(BIN)/python -m benchmarks.fleet $(BENCH_FLEET_ARGS)
