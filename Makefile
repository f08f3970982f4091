# CivicLoop — one machine, no Docker: a real Kafka broker and a real PostgreSQL + PostGIS, every service a process.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export CIVICLOOP_KAFKA_BOOTSTRAP ?= 127.0.0.1:39092
export CIVICLOOP_PG_DSN ?= postgresql://postgres@127.0.0.1:55432/civicloop
export CIVICLOOP_SHARED_DIR ?= $(abspath ../shared)
UV ?= uv
PYTEST_ARGS ?=

.PHONY: help deps up down topics migrate seed run stop test test-slow lint bench schemas

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

deps: ## install what is missing: uv, the Python workspace (from the lock file), Kafka, PostgreSQL + PostGIS
	@command -v $(UV) >/dev/null || python3 -m pip install --quiet --disable-pip-version-check uv
	@$(UV) sync --all-packages --frozen --quiet
	@deploy/local/postgres.sh install
	@mkdir -p .run/kafka && deploy/local/kafka.sh fetch

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

seed: migrate ## load the demo jurisdiction
	@$(UV) run --frozen python deploy/local/seed_demo.py config
	@$(UV) run --frozen python deploy/local/seed_demo.py gazetteer

run: seed ## install what is missing, start everything with demo data, print the URLs
	@deploy/local/services.sh start

stop: ## stop the service processes started by `make run`
	@deploy/local/services.sh stop

test: up ## run the test suite against the real broker and database
	@$(UV) run --frozen lint-imports --no-cache >/dev/null || { $(UV) run --frozen lint-imports --no-cache; exit 1; }
	@$(UV) run --frozen pytest -m "not slow" $(PYTEST_ARGS)

test-slow: up ## run only the slow and soak tests
	@$(UV) run --frozen pytest -m slow $(PYTEST_ARGS)

lint: deps ## ruff over the workspace
	@$(UV) run --frozen ruff check .

schemas: deps ## regenerate the checked-in JSON Schemas of the event contract
	@$(UV) run --frozen civicloop-events schemas --write

bench: migrate ## benchmarks: figures and ratios against a ceiling measured in the same run
	@$(UV) run --frozen python -m bench
