# CivicLoop — one machine, no Docker: a real Kafka broker and a real PostgreSQL + PostGIS, every service a process.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export CIVICLOOP_KAFKA_BOOTSTRAP ?= 127.0.0.1:21092
export CIVICLOOP_PG_DSN ?= postgresql://postgres@127.0.0.1:21432/civicloop
export CIVICLOOP_SHARED_DIR ?= $(abspath ../shared)
UV ?= uv
PYTEST_ARGS ?=
BENCH_ARGS ?=
SOAK_SECONDS ?= 300
SOAK_RATE ?= 500

# Every package of the workspace, found by its source folder: libraries are type-checked strict, services plainly
# (pyproject.toml, [tool.mypy]); each source folder is on mypy's path so packages are checked against each other.
LIBRARIES := $(notdir $(wildcard libs/*/src/civicloop_*))
SERVICES := $(notdir $(wildcard services/*/src/civicloop_* services/*/*/src/civicloop_*))
EMPTY :=
MYPYPATH_OF_WORKSPACE := $(subst $(EMPTY) $(EMPTY),:,$(wildcard libs/*/src services/*/src services/*/*/src))

.PHONY: help python-deps deps browser-deps bench-deps up down topics migrate seed run stop status walkthrough test test-unit test-slow test-faults lint bench soak schemas

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

python-deps: ## install what is missing of the Python side: uv, the workspace and its dev tools (from the lock file)
	@command -v $(UV) >/dev/null || python3 -m pip install --quiet --disable-pip-version-check uv
	@$(UV) sync --all-packages --frozen --quiet

deps: python-deps ## install what is missing: the Python side, Kafka, PostgreSQL + PostGIS, ss (services.sh asks it who holds a port)
	@deploy/local/postgres.sh install
	@mkdir -p .run/kafka && deploy/local/kafka.sh fetch
	@$(call apt_command,ss,iproute2)

# $(call apt_command,COMMAND,PACKAGE): install the Debian package when the command is missing.
apt_command = command -v $(1) >/dev/null || { echo "installing $(2) (for $(1)) with apt-get"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; }

# Pages are tested in Debian's chromium, driven by Playwright (a Python dependency) with `executable_path`: a browser
# build of Playwright's own is a download from elsewhere, so it is never fetched.
browser-deps: ## install what the browser tests need besides: Debian's chromium (headless, driven by Playwright)
	@$(call apt_command,chromium,chromium)

bench-deps: ## install what the benchmarks need besides: wrk, the compiled load generator (Debian package)
	@$(call apt_command,wrk,wrk)

up: deps ## start Kafka and PostgreSQL (idempotent) and create the topics
	@deploy/local/postgres.sh start
	@deploy/local/kafka.sh start
	@$(UV) run --frozen civicloop-topics ensure

down: stop ## stop every service, Kafka and PostgreSQL
	@deploy/local/kafka.sh stop
	@deploy/local/postgres.sh stop

migrate: up ## apply every service's Alembic migrations
	@$(UV) run --frozen civicloop-intake migrate
	@$(UV) run --frozen civicloop-projections migrate
	@$(UV) run --frozen civicloop-gateway migrate
	@# After the gateway's: the first outbound migration moves the outbound tables out of schema gateway.
	@$(UV) run --frozen civicloop-outbound migrate
	@$(UV) run --frozen civicloop-geo migrate
	@$(UV) run --frozen civicloop-notifier migrate
	@$(UV) run --frozen civicloop-selfheal migrate

seed: migrate ## load the demo jurisdiction
	@$(UV) run --frozen python deploy/local/seed_demo.py config
	@$(UV) run --frozen python deploy/local/seed_demo.py gazetteer

run: seed ## install what is missing, start everything with demo data (services and local providers under supervisord), print the URLs
	@deploy/local/services.sh start
	@deploy/local/services.sh welcome

stop: ## stop the service and local provider processes started by `make run` (and their supervisor)
	@deploy/local/services.sh stop

status: ## the state, pid and readiness of each service started by `make run`
	@deploy/local/services.sh status

# Against the services `make run` started (not part of `make test`): README.md, "Follow one request in the browser".
walkthrough: python-deps browser-deps ## follow one request from report to fix in chromium, against a running `make run`; screenshots in .run/screenshots/walkthrough-*
	@$(UV) run --frozen python deploy/local/walkthrough.py

# Fault tests (a broker of their own stopped, the database cut off) have their own target, as soak tests do.
test: up browser-deps lint ## every static check (`make lint`), then the test suite against the real broker and database
	@$(UV) run --frozen pytest -m "not slow and not faults" $(PYTEST_ARGS)

# Broker and database point at a closed port here, so a test that needs either fails instead of passing by luck.
test-unit: python-deps browser-deps ## only the tests that need no broker and no database (every test not marked integration or slow)
	@CIVICLOOP_KAFKA_BOOTSTRAP=127.0.0.1:9 CIVICLOOP_PG_DSN=postgresql://nobody@127.0.0.1:9/none \
		$(UV) run --frozen pytest -m "not integration and not slow" $(PYTEST_ARGS)

test-slow: up bench-deps ## run only the slow and soak tests
	@$(UV) run --frozen pytest -m slow $(PYTEST_ARGS)

# The storm (wrk against intake during an outage) is slow too: it runs here and in test-slow.
test-faults: up bench-deps ## the fault suite: a broker of the tests' own stopped, the database cut off, consumers killed, a storm; with the figures each printed
	@$(UV) run --frozen pytest -m faults -rP $(PYTEST_ARGS)

lint: python-deps ## every static check: ruff's rules and format, the import contracts, mypy (strict on the libraries)
	@$(UV) run --frozen ruff check --quiet .
	@$(UV) run --frozen ruff format --check --quiet .
	@$(UV) run --frozen lint-imports --no-cache >/dev/null || { $(UV) run --frozen lint-imports --no-cache; exit 1; }
	@MYPYPATH=$(MYPYPATH_OF_WORKSPACE) $(UV) run --frozen mypy $(addprefix -p ,$(LIBRARIES))
	@MYPYPATH=$(MYPYPATH_OF_WORKSPACE) $(UV) run --frozen mypy $(addprefix -p ,$(SERVICES))

schemas: deps ## regenerate the checked-in JSON Schemas of the event contract
	@$(UV) run --frozen civicloop-events schemas --write

bench: bench-deps migrate ## benchmarks driven by wrk: figures, ratios against a ceiling measured in the same run, CPU per request per process
	@$(UV) run --frozen python -m bench $(BENCH_ARGS)

soak: bench-deps up ## the whole system under a paced load (SOAK_RATE req/s, SOAK_SECONDS s): does every consumer group keep up?
	@$(UV) run --frozen python -m bench --only soak --soak-seconds $(SOAK_SECONDS) --soak-rate $(SOAK_RATE) $(BENCH_ARGS)
