# The lab's front door. `make help` lists every target.
SHELL := bash
CARGO ?= cargo
RELEASE_DIR := target/release

# Ports for the run-* targets (the article's).
PORT_API ?= 4000
PORT_APP ?= 3000

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-22s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build every service in release mode
	$(CARGO) build --release --workspace

.PHONY: test
test: ## Run the whole test suite (real binaries on loopback ports)
	@if command -v cargo-nextest >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --no-fail-fast; \
	else \
		echo "cargo-nextest not found; using cargo test (install it with: cargo install cargo-nextest)"; \
		$(CARGO) test --workspace --no-fail-fast; \
	fi

.PHONY: lint
lint: ## cargo fmt --check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

.PHONY: run-slow-api
run-slow-api: ## Run the slow API on PORT_API (default 4000)
	$(CARGO) run --release -p slow_api -- --port $(PORT_API)

.PHONY: run-async
run-async: ## Run app_async on PORT_APP (CLIENT=async|blocking|offload, WORKERS=N)
	$(CARGO) run --release -p app_async -- --port-app $(PORT_APP) --port-api $(PORT_API)

# app_pg: the article's bonus (psycopg2 vs psycogreen).
PG_DIR ?= /tmp/lab-postgres
PG_PORT ?= 5432
DRIVER ?= async

.PHONY: pg-up
pg-up: ## Start a throwaway PostgreSQL on 127.0.0.1:PG_PORT (default 5432) in PG_DIR, with role and db example/example
	scripts/throwaway-postgres.sh start $(PG_DIR) $(PG_PORT)

.PHONY: pg-down
pg-down: ## Stop the throwaway PostgreSQL and delete PG_DIR
	scripts/throwaway-postgres.sh stop $(PG_DIR)

.PHONY: run-pg
run-pg: ## Run app_pg on PORT_APP (DRIVER=async|blocking, POOL_SIZE=N, DATABASE_URL=...; see make pg-up)
	DRIVER=$(DRIVER) $(CARGO) run --release -p app_pg -- --port-app $(PORT_APP) --port-api $(PORT_API)

.PHONY: bench-pg
bench-pg: ## Benchmark app_pg: both drivers at ab -n 10 -c 5, then async pools 25/50/100 at -n 5000 -c 1000 (flock'd)
	$(CARGO) build --release -p slow_api -p app_pg
	scripts/bench-pg.sh all
