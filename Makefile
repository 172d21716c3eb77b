# tap-hubspot-activity: developer entry points.
#   make install   venv + dev dependencies + the Meltano plugins the tests and demo use
#   make test      the whole pytest suite (includes the end-to-end Meltano pipeline test)
#   make demo      emulator (or real portal) -> meltano run -> PostgreSQL, then a summary
#   make warehouse / warehouse-stop   the embedded PostgreSQL of the demo, for psql or a BI tool
#   make clean-demo   forget the demo's warehouse, bookmarks and counts

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MELTANO := $(BIN)/meltano

# Only the plugins the tests and the demo run; target-snowflake and target-jsonl are
# installed on demand: $(MELTANO) install loader target-snowflake
PLUGINS := tap-hubspot-activity target-postgres

VENV_STAMP := $(VENV)/.install-stamp
PLUGINS_STAMP := .meltano/.plugins-stamp

export MELTANO_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: install test demo warehouse warehouse-stop clean-demo

install: $(VENV_STAMP) $(PLUGINS_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV_STAMP): pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

$(PLUGINS_STAMP): meltano.yml pyproject.toml $(VENV_STAMP)
	$(MELTANO) install $(PLUGINS)
	touch $@

test: install
	$(BIN)/python -m pytest

demo: install
	$(BIN)/python -m scripts.demo

warehouse: $(VENV_STAMP)
	@$(BIN)/python -m scripts.warehouse start

warehouse-stop: $(VENV_STAMP)
	@$(BIN)/python -m scripts.warehouse stop

clean-demo: $(VENV_STAMP)
	-$(BIN)/python -m scripts.warehouse stop
	-$(MELTANO) state clear --force dev:tap-hubspot-activity-to-target-postgres:emulator
	rm -rf .demo
