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

.PHONY: test-deps
test-deps: ## Install what the tests need: nginx, PostgreSQL server binaries, Chromium and its WebDriver, patch, wrk, ab and strace (root on Debian), or say how
	@scripts/ensure-packages.sh nginx:nginx-light python3:python3 chromium:chromium chromedriver:chromium-driver patch:patch wrk:wrk ab:apache2-utils strace:strace
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
		|| scripts/ensure-packages.sh /usr/lib/postgresql/15/bin/initdb:postgresql-15

# The Python side of make bench-python: what pip needs to build uWSGI and psycopg2.
PYTHON_DEPS := /usr/bin/python3:python3 /usr/share/doc/python3-venv:python3-venv \
	/usr/share/doc/python3-dev:python3-dev /usr/share/doc/build-essential:build-essential \
	/usr/bin/pg_config:libpq-dev

.PHONY: python-deps
python-deps: ## Install what the Python venv needs to build (python3-venv, python3-dev, build-essential, libpq-dev)
	@scripts/ensure-packages.sh $(PYTHON_DEPS)

.PHONY: python-env
python-env: python-deps ## Make target/python-venv from python/requirements.lock (pip; once, then only when the lock changes)
	$(CARGO) run --quiet -p lab -- compare --prepare

.PHONY: test
test: test-deps python-env check-compose ## Run the whole test suite (real binaries, nginx and PostgreSQL on loopback ports)
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

.PHONY: run-sync
run-sync: ## Run app_sync on PORT_APP as 4 workers x 50 threads (WORKERS=W THREADS=T PROTOCOL=http|uwsgi override)
	WORKERS=$${WORKERS:-4} THREADS=$${THREADS:-50} $(CARGO) run --release -p app_sync -- --port-app $(PORT_APP) --port-api $(PORT_API)

.PHONY: run-devserver
run-devserver: ## Run app_sync as the dev server: 1 worker x 1 thread (flask run --without-threads)
	$(CARGO) run --release -p app_sync -- --port-app $(PORT_APP) --port-api $(PORT_API) --workers 1 --threads 1

.PHONY: run-devserver-threaded
run-devserver-threaded: ## Run app_sync with a thread per connection (flask run --with-threads)
	$(CARGO) run --release -p app_sync -- --port-app $(PORT_APP) --port-api $(PORT_API) --workers 1 --threads 0

.PHONY: check-compose
check-compose: ## Check that compose/*.yml agree with the scenario table, and swarm/*.yml with their template (run by make test)
	$(CARGO) run --quiet --locked -p lab -- check-compose
	python3 swarm/generate.py --check

.PHONY: docker-images
docker-images: ## CI aid: build local stand-ins for debian/rust/nginx/postgres base images (no registry)
	scripts/docker-images.sh

.PHONY: test-docker
test-docker: ## Every compose file on Docker: up, healthy, bodies, load, 502/503, down; then the Prometheus overlay (LAB_BUILD=prebuilt|source)
	scripts/test-docker.sh

# app_pg: the article's bonus (psycopg2 vs psycogreen).
PG_PORT ?= 5432
DRIVER ?= async

.PHONY: pg-up
pg-up: ## A throwaway PostgreSQL on 127.0.0.1:PG_PORT (default 5432), role and db example/example, until Ctrl-C
	$(CARGO) run --quiet --release -p lab -- postgres --port $(PG_PORT)

.PHONY: run-pg
run-pg: ## Run app_pg on PORT_APP (DRIVER=async|blocking, POOL_SIZE=N, DATABASE_URL=...; see make pg-up)
	DRIVER=$(DRIVER) $(CARGO) run --release -p app_pg -- --port-app $(PORT_APP) --port-api $(PORT_API)

.PHONY: bench-loadgen
bench-loadgen: ## loadgen side by side with wrk and ab (ROUNDS=5 DURATION=5 NEW_ROUNDS=9 APP_ROUNDS=3): results/bench-loadgen.{json,md}
	@scripts/ensure-packages.sh ab:apache2-utils wrk:wrk
	$(CARGO) build --release -p loadgen -p slow_api -p app_async -p lab
	flock $(BENCH_LOCK) $(RELEASE_DIR)/lab bench-loadgen --rounds $(or $(ROUNDS),5) \
		--duration $(or $(DURATION),5) --new-rounds $(or $(NEW_ROUNDS),9) --app-rounds $(or $(APP_ROUNDS),3)
	$(RELEASE_DIR)/lab docs

# --- the lab: every scenario on this machine (loadgen's runner) ----------------------
# Every run holds /tmp/lab-bench.lock, so benchmarks never share the cores.
BENCH_LOCK ?= /tmp/lab-bench.lock
SCENARIO ?=

.PHONY: bench-deps
bench-deps: ## Install nginx and PostgreSQL server binaries if missing (without them those rows are skipped)
	@scripts/ensure-packages.sh nginx:nginx-light || echo "(the nginx rows will be skipped)"
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
		|| scripts/ensure-packages.sh /usr/lib/postgresql/15/bin/initdb:postgresql-15 \
		|| echo "(the PostgreSQL rows will be skipped)"

.PHONY: bench-all
bench-all: bench-deps ## Run every scenario: table on stdout + results/bench-all.{md,json,svg}
	$(CARGO) build --release --workspace
	flock $(BENCH_LOCK) $(RELEASE_DIR)/lab bench --results results
	$(RELEASE_DIR)/lab docs

.PHONY: bench
bench: bench-deps ## Run one scenario: make bench SCENARIO=id (make bench-list shows the ids)
	@if [ -z "$(SCENARIO)" ]; then echo "usage: make bench SCENARIO=id (see make bench-list)" >&2; exit 2; fi
	$(CARGO) build --release --workspace
	flock $(BENCH_LOCK) $(RELEASE_DIR)/lab bench --results results --scenario $(SCENARIO)

.PHONY: bench-python
bench-python: bench-deps ## Python beside Rust in one run: results/compare.{md,json,svg} (the venv is built first, outside the lock)
	@scripts/ensure-packages.sh $(PYTHON_DEPS) || echo "(the Python rows will be skipped)"
	$(CARGO) build --release --workspace
	$(RELEASE_DIR)/lab compare --prepare || echo "(the Python rows will be skipped)"
	flock $(BENCH_LOCK) $(RELEASE_DIR)/lab compare --results results
	$(RELEASE_DIR)/lab docs

.PHONY: bench-list
bench-list: ## List the scenarios (docs/design.md's table) with their load and ceiling
	@$(CARGO) run --quiet --release -p lab -- bench --list

.PHONY: sweep
sweep: ## Throughput/p99/RSS/threads vs clients (1..10,000): results/sweep.{svg,json,md}
	$(CARGO) build --release --workspace
	flock $(BENCH_LOCK) $(RELEASE_DIR)/lab sweep --results results
	$(RELEASE_DIR)/lab docs

.PHONY: callgrind
callgrind: ## Instructions per proxied request, app_async vs nginx-proxy, under callgrind (LABEL=current): results/callgrind.{md,json}
	@scripts/ensure-packages.sh valgrind:valgrind nginx:nginx-light
	$(CARGO) build --release -p slow_api -p app_async -p lab
	flock $(BENCH_LOCK) $(RELEASE_DIR)/lab callgrind --label "$(or $(LABEL),current)"
	$(RELEASE_DIR)/lab docs

.PHONY: proxy-bench
# The build before app_async ran one event loop per thread (actix-web's HttpServer, with its
# accept thread): docs/10-cost.md compares the two in the same rounds.
BEFORE_REV ?= 27950e4
proxy-bench: ## app_async vs nginx-proxy vs direct, and app_async as built at BEFORE_REV, side by side (ROUNDS=3): results/proxy-bench.{md,json}
	@scripts/ensure-packages.sh nginx:nginx-light strace:strace
	$(CARGO) build --release -p slow_api -p app_async -p lab
	@# BEFORE_REV's own tree and Cargo.lock, exported from git and built in a target dir of
	@# its own; kept between runs, since the build takes minutes and a commit does not change.
	set -e; before=target/before/$(BEFORE_REV); \
	if [ ! -x "$$before/target/release/app_async" ]; then \
		rm -rf "$$before/src"; mkdir -p "$$before/src"; \
		git archive --format=tar "$(BEFORE_REV)" | tar -x -C "$$before/src"; \
		(cd "$$before/src" && $(CARGO) build --release --locked -p app_async --target-dir ../target); \
	fi; \
	flock $(BENCH_LOCK) $(RELEASE_DIR)/lab proxy-bench --rounds $(or $(ROUNDS),3) \
		--compare-bin-dir "$$before/target/release" --compare-label "app_async at $(BEFORE_REV)"
	$(RELEASE_DIR)/lab docs

.PHONY: first-round
first-round: ## The keep-alive burst's first round: app_async beside nginx-proxy and the slow API alone, in turn (ROUNDS=5): results/first-round.{json,md}
	@scripts/ensure-packages.sh nginx:nginx-light
	$(CARGO) build --release -p slow_api -p app_async -p lab
	@# The page is rewritten from the run whether or not it met its criterion; the exit
	@# status is the criterion's.
	flock $(BENCH_LOCK) $(RELEASE_DIR)/lab first-round --rounds $(or $(ROUNDS),5); \
	status=$$?; $(RELEASE_DIR)/lab docs && exit $$status

.PHONY: patch-bench
PATCH ?= docs/patches/awc-3.11.0-client-codec-per-thread.patch
patch-bench: ## make proxy-bench beside app_async built on a dependency patched with PATCH (docs/patches/CRATE-VERSION-what.patch; ROUNDS=5): results/patches/what/proxy-bench.{md,json}
	@scripts/ensure-packages.sh nginx:nginx-light patch:patch strace:strace
	$(CARGO) build --release -p slow_api -p app_async -p lab
	@# The crate's source as Cargo.lock names it, patched in a copy and built in a target
	@# dir of its own through [patch.crates-io] on the command line. That rewrites
	@# Cargo.lock, so the committed one is put back whatever the build did. Nothing of the
	@# patched crate is committed: only the patch, and the run's results.
	set -e; name=$$(basename "$(PATCH)" .patch); \
	crate=$$(echo "$$name" | sed -E 's/-[0-9]+\.[0-9]+\.[0-9]+-.*$$//'); \
	work=target/patches/$$name; rm -rf "$$work"; mkdir -p "$$work"; \
	cp -r "$$($(CARGO) metadata --locked --format-version 1 | python3 -c 'import json, os, sys; print(next(os.path.dirname(p["manifest_path"]) for p in json.load(sys.stdin)["packages"] if p["name"] == sys.argv[1]))' "$$crate")" "$$work/src"; \
	patch --fuzz=0 -d "$$work/src" -p1 < "$(PATCH)"; \
	cp Cargo.lock "$$work/Cargo.lock.committed"; \
	status=0; $(CARGO) build --release -p app_async --target-dir "$$work/target" \
		--config "patch.crates-io.$$crate.path=\"$(CURDIR)/$$work/src\"" || status=$$?; \
	cp "$$work/Cargo.lock.committed" Cargo.lock; test $$status = 0; \
	flock $(BENCH_LOCK) $(RELEASE_DIR)/lab proxy-bench --rounds $(or $(ROUNDS),5) \
		--compare-bin-dir "$$work/target/release" --compare-label "app_async + $$crate patch" \
		--results "results/patches/$$name"
	$(RELEASE_DIR)/lab docs

.PHONY: docs
docs: ## Rewrite the generated tables of README.md and docs/ from results/*.json
	$(CARGO) run --quiet -p lab -- docs

.PHONY: bench-docker
bench-docker: ## make bench-all's scenarios through the compose files, beside the native run (results/bench-docker.{md,json}; EXTRA=1 adds the extra rows)
	@# docker-common.sh: LAB_BUILD, the compose client, the base images, and for prebuilt
	@# images the release binaries staged in target/docker-bin/ (lab among them).
	root=$$PWD; source scripts/docker-common.sh && $(CARGO) build --release --locked -q -p lab \
		&& COMPOSE="$$COMPOSE" LAB_BUILD="$$LAB_BUILD" $(RELEASE_DIR)/lab bench-docker --results results
	$(RELEASE_DIR)/lab docs

# --- faults, hostile bytes and slow clients (docs/09-faults.md) ----------------------
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := http_head http_chunked uwsgi_packet uwsgi_vars delay loadgen_response

.PHONY: chaos
chaos: bench-deps ## Faults during loads (upstream/PostgreSQL restart, worker kill, nginx reload): results/chaos.{md,json}
	$(CARGO) build --release --workspace
	flock $(BENCH_LOCK) $(RELEASE_DIR)/lab chaos --results results
	$(RELEASE_DIR)/lab docs

.PHONY: live
live: bench-deps ## The live page on 127.0.0.1:$${LIVE_PORT:-8089}: pick a topology, start a load, watch it (docs/13-live.md)
	$(CARGO) build --release --workspace
	BENCH_LOCK=$(BENCH_LOCK) $(RELEASE_DIR)/lab live

.PHONY: live-screenshot
live-screenshot: test-deps ## The live page's browser test, its screenshot written to docs/images/live-async.png
	$(CARGO) build --workspace
	LIVE_SCREENSHOT=$(CURDIR)/docs/images/live-async.png $(CARGO) test -p lab --test live_browser

.PHONY: slowloris
slowloris: bench-deps ## Slow clients trickling heads beside a normal load: results/slowloris.{md,json}
	$(CARGO) build --release --workspace
	flock $(BENCH_LOCK) $(RELEASE_DIR)/lab slowloris --results results
	$(RELEASE_DIR)/lab docs

.PHONY: soak
soak: ## 1,000,000 requests through app_async at c=1000: memory and descriptors after, results/soak.{md,json}
	$(CARGO) build --release --workspace
	flock $(BENCH_LOCK) $(RELEASE_DIR)/lab soak --results results
	$(RELEASE_DIR)/lab docs

.PHONY: fuzz
fuzz: ## cargo fuzz every parser for FUZZ_SECONDS each (default 60; nightly and cargo-fuzz)
	@command -v cargo-fuzz >/dev/null 2>&1 || { echo "cargo-fuzz not found: cargo install cargo-fuzz" >&2; exit 2; }
	@for target in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/corpus/$$target; \
		echo "== fuzz $$target for $(FUZZ_SECONDS) s"; \
		(cd fuzz && flock $(BENCH_LOCK) $(CARGO) +nightly fuzz run $$target corpus/$$target seeds/$$target -- \
			-max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1) || exit 1; \
	done

.PHONY: fuzz-check
fuzz-check: ## Type-check the fuzz/ crate on stable (CI: the fuzz targets follow the parsers' API)
	$(CARGO) check --manifest-path fuzz/Cargo.toml --locked --target-dir target

# --- the topologies that scale out, on a Docker swarm (docs/11-swarm.md) ---------------
STACK ?= sync-workers
REPLICAS ?= 1
SWARM_PORT ?= 8080

.PHONY: swarm-images
swarm-images: ## Images for swarm/*.yml and swarm-shards: flask-gevent-lab/{slow_api,app_sync,app_async,loadgen}:local (LAB_BUILD=prebuilt|source, LAB_TAG)
	scripts/swarm-images.sh

.PHONY: swarm-up
swarm-up: ## Deploy swarm/STACK.yml with REPLICAS app tasks behind nginx on SWARM_PORT (a single-node swarm if none)
	$(CARGO) build --release --locked -q --workspace --bins
	$(RELEASE_DIR)/lab swarm up --stack $(STACK) --replicas $(REPLICAS) --port $(SWARM_PORT)

.PHONY: swarm-down
swarm-down: ## Remove the lab's stacks; leave the swarm only if make swarm-up created it (target/swarm-created)
	$(CARGO) build --release --locked -q --workspace --bins
	$(RELEASE_DIR)/lab swarm down

SHARDS ?= 2
LOAD ?= -k -n 4000 -c 500 http://nginx:8080/?delay=1

.PHONY: swarm-shards
swarm-shards: ## K=SHARDS loadgen shards as a swarm job on STACK's network (after swarm-up), LOAD split between them, reports merged (target/swarm-shards/)
	$(CARGO) build --release --locked -q --workspace --bins
	flock $(BENCH_LOCK) $(RELEASE_DIR)/lab swarm shards --stack $(STACK) -k $(SHARDS) -- $(LOAD)

.PHONY: bench-swarm
bench-swarm: swarm-images ## Throughput vs replicas and faults under load on a swarm: results/swarm.{md,json,svg} (QUICK=1: shortened)
	$(CARGO) build --release --locked --workspace --bins
	flock $(BENCH_LOCK) $(RELEASE_DIR)/lab swarm bench --results results $(if $(filter 1 true yes,$(QUICK)),--quick)
	$(RELEASE_DIR)/lab docs

.PHONY: test-swarm
test-swarm: swarm-images ## The swarm tests (lab/tests/swarm.rs): up, healthy, through nginx, scale/update/kill under load, K loadgen shards as a job, down
	$(CARGO) test --release --locked -p lab --test swarm -- --ignored --test-threads 1 --nocapture
