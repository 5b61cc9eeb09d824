# Commands anyone can run. `make run` starts the embedded deployment (SQLite, in-memory
# channel layer, Whoosh); `make test` runs the suite against both deployments.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PYTHON := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
RUFF := $(VENV)/bin/ruff
SERVICES := bash scripts/services.sh
STAMP := $(VENV)/.installed

PYTEST := $(PYTHON) -m pytest -p no:cacheprovider -q
PYTEST_ARGS ?=
HOST_PORT ?= 127.0.0.1:8000

# The embedded profile must not see a cluster left in the caller's environment.
EMBEDDED_ENV := env -u DATABASE_URL -u REDIS_URL -u SEARCH_URL -u MARKETPLACE_PROFILE

export PIP_DISABLE_PIP_VERSION_CHECK := 1

# $(call pytest_verdict,NAME): turns the exit status of the command just run into a
# verdict. pytest exits 5 when it collected nothing, which is a failure here too.
define pytest_verdict
rc=$$?; \
if [ $$rc -eq 0 ]; then echo "== $(1) profile: passed =="; \
elif [ $$rc -eq 5 ]; then echo "!! $(1) profile: pytest collected no tests (exit 5), counted as a failure"; \
else echo "!! $(1) profile: FAILED (pytest exit $$rc)"; fi; \
[ $$rc -eq 0 ]
endef

define run_embedded
echo "== embedded profile (SQLite, in-memory layer) =="; \
$(EMBEDDED_ENV) $(PYTEST) $(PYTEST_ARGS); \
$(call pytest_verdict,embedded)
endef

define run_cluster
echo "== cluster profile (PostgreSQL + Redis) =="; \
eval "$$($(SERVICES) env)" && MARKETPLACE_PROFILE=cluster $(PYTEST) $(PYTEST_ARGS); \
$(call pytest_verdict,cluster)
endef

.PHONY: bench help venv run test test-embedded test-cluster lint fmt services-up services-down \
	services-status migrations-check clean

help:
	@echo "make run               migrate, load demo data, start a worker and the server on $(HOST_PORT)"
	@echo "make test              the suite on the embedded profile, then on the cluster profile"
	@echo "make test-embedded     SQLite and in-memory layer only"
	@echo "make test-cluster      PostgreSQL + Redis on loopback (started by scripts/services.sh)"
	@echo "make lint | fmt        ruff check and format check | apply ruff fixes and format"
	@echo "make bench             quick benchmarks (bench/*.py --quick); each prints JSON as its last line"
	@echo "make migrations-check  fail when models changed without a migration"
	@echo "make services-up | services-down | services-status"
	@echo "make clean             stop services, remove var/ and $(VENV)"
	@echo "PYTEST_ARGS='-k foo -x' passes arguments to pytest."

# ---------------------------------------------------------------- environment

venv: $(STAMP)

$(PYTHON):
	python3 -m venv $(VENV)

# Reinstall only when requirements.txt is newer than the last successful install.
$(STAMP): requirements.txt | $(PYTHON)
	$(PIP) install -q -r requirements.txt
	@touch $@

# ---------------------------------------------------------------- run

# The worker runs beside the server and goes when the server goes (Ctrl-C included).
run: venv
	$(PYTHON) manage.py migrate --noinput
	$(PYTHON) manage.py load_demo
	$(PYTHON) manage.py expire_needs
	$(PYTHON) manage.py update_index --remove
	$(PYTHON) manage.py refresh_matches
	@$(PYTHON) manage.py db_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	trap 'exit 130' INT TERM; \
	$(PYTHON) manage.py runserver $(HOST_PORT)

# ---------------------------------------------------------------- tests

# Both profiles always run; the target fails if either failed.
test: venv
	@status=0; \
	$(SERVICES) up || { echo "!! services did not start"; status=1; }; \
	bash scripts/ensure_chromium.sh; \
	( $(run_embedded) ) || status=1; \
	if [ $$status -eq 0 ] || $(SERVICES) status >/dev/null; then \
		( $(run_cluster) ) || status=1; \
	else \
		echo "!! cluster profile: skipped, services are not up"; status=1; \
	fi; \
	exit $$status

test-embedded: venv
	@$(run_embedded)

test-cluster: venv services-up
	@$(run_cluster)

# ---------------------------------------------------------------- tooling

lint: venv
	$(RUFF) check . && $(RUFF) format --check .

fmt: venv
	$(RUFF) check --fix . && $(RUFF) format .

migrations-check: venv
	$(EMBEDDED_ENV) $(PYTHON) manage.py makemigrations --check --dry-run

services-up:
	$(SERVICES) up

services-down:
	$(SERVICES) down

services-status:
	$(SERVICES) status

# Servers first: their data lives under var/.
clean:
	-$(SERVICES) down
	rm -rf var $(VENV)

# ---------------------------------------------------------------- benchmarks

bench: venv
	$(PYTHON) bench/import.py --quick
	$(PYTHON) bench/stats.py --quick
	$(PYTHON) bench/webhooks.py --quick
	$(PYTHON) bench/ws.py --quick
	$(PYTHON) bench/search.py --quick
	$(PYTHON) bench/matching.py --quick
