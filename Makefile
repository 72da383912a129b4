# Aegis: `make run` builds and starts the server on the embedded default (SQLite under
# ./var, evidence on local disk, first-party plugins); `make test` runs every test.

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
# Every folder under plugins/ is a plugin main package, built to bin/aegis-plugin-<name>.
PLUGINS  := $(patsubst plugins/%/,%,$(sort $(dir $(wildcard plugins/*/main.go))))
TESTFLAGS ?=
TESTTIMEOUT ?= 25m
# The server module (.) and the plugin SDK (sdk/, a module of its own that `./...` at the root
# does not reach). test, bench and lint run in each; test runs both before it fails.
MODULES  := . sdk

.PHONY: all build aegis plugins web web-test api-types screenshots run test soak bench generate lint clean

all: build

build: web aegis plugins

aegis:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/aegis ./cmd/aegis

plugins:
	@for p in $(PLUGINS); do \
		echo "build bin/aegis-plugin-$$p"; \
		$(GO) build -o bin/aegis-plugin-$$p ./plugins/$$p || exit 1; \
	done

# The SPA (web/, needs Node 20+): npm ci on first use, then the build into web/dist,
# which the Go binary embeds. The build type-checks against the API's types and fails
# when the initial JavaScript is over budget (web/scripts/budget.mjs).
web:
	cd web && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build

# The web app's unit tests (Vitest).
web-test: web
	cd web && npm test

# After an API change: rewrite the OpenAPI copy and the TypeScript types generated
# from it (a Go test and a Vitest test fail until they match the API).
api-types:
	$(GO) run ./cmd/aegis openapi > web/openapi.json
	cd web && npm run gen:api

# Run the browser tests and keep their screenshots in docs/screenshots.
screenshots: web
	AEGIS_E2E_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run TestBrowser -v ./web/

run: build
	./bin/aegis serve

# The Go tests include web/e2e_test.go, the browser tests against the embedded build.
test: web-test
	@rc=0; for m in $(MODULES); do \
		echo "== go test in module $$m"; \
		(cd $$m && $(GO) test -count=1 -timeout $(TESTTIMEOUT) $(TESTFLAGS) ./...) || rc=1; \
	done; exit $$rc

# A bounded loopback soak (issue 16): `aegis serve` on PostgreSQL (AEGIS_TEST_POSTGRES_DSN)
# under mixed reads and writes from eight clients for AEGIS_SOAK_SECONDS (`make test` runs
# the same test for 4 s): zero 5xx, flat heap and resident memory, no goroutine or
# open-file growth. `make soak AEGIS_SOAK_SECONDS=1800` soaks longer.
AEGIS_SOAK_SECONDS ?= 300
soak:
	AEGIS_SOAK_SECONDS=$(AEGIS_SOAK_SECONDS) $(GO) test -count=1 -timeout $$(( $(AEGIS_SOAK_SECONDS) + 600 ))s -run '^TestSoak$$' -v ./cmd/aegis/

# BenchmarkScale (internal/integration) seeds a synthetic organisation of this scale
# (1: 100,000 tests) over the upstream ATT&CK data on SQLite and, with
# AEGIS_TEST_POSTGRES_DSN, PostgreSQL, and writes its figures to bench/out/results.json.
# AEGIS_BENCH_ROUNDS repeats its measurements on the seeded database and reports medians.
# BenchmarkImports (same package) times every first-party import of the upstream data
# against its parse floor, alone and all together, first import and re-import, SQLite and
# PostgreSQL, AEGIS_BENCH_ROUNDS rounds; it adds its figures to bench/out/results.json and
# rewrites its table in docs/BENCHMARKS.md. BenchmarkAttackBundle times `aegis import attack`
# of an ATT&CK STIX 2.1 bundle against MITRE's TypeScript library (bench/attack-data-model).
# They take long: the timeout is BENCHTIMEOUT.
AEGIS_BENCH_SCALE ?= 1
AEGIS_BENCH_ROUNDS ?= 3
export AEGIS_BENCH_SCALE AEGIS_BENCH_ROUNDS
AEGIS_UPSTREAM_DIR ?= $(abspath ../shared/upstream)
export AEGIS_UPSTREAM_DIR
BENCHTIMEOUT ?= 180m

bench:
	@# BenchmarkAttackBundle compares the attack import with MITRE's TypeScript ATT&CK
	@# library; it skips when node or the library (installed here when npm is) is missing.
	@if command -v npm >/dev/null && [ ! -d bench/attack-data-model/node_modules ]; then \
		(cd bench/attack-data-model && npm ci --no-audit --no-fund) || echo "bench: npm ci in bench/attack-data-model failed; BenchmarkAttackBundle will skip"; \
	fi
	@for m in $(MODULES); do \
		(cd $$m && $(GO) test -run '^$$' -bench . -benchmem -timeout $(BENCHTIMEOUT) $(BENCHFLAGS) ./...) || exit 1; \
	done

generate:
	sh sdk/generate.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done
	@for m in $(MODULES); do \
		(cd $$m && $(GO) mod tidy -diff >/dev/null) || { echo "go.mod/go.sum of module $$m are not tidy (run go mod tidy in $$m)"; exit 1; }; \
	done

clean:
	rm -rf bin
