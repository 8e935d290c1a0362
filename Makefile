# AeroDB Functions. `make help` lists the targets; `make run` and `make test` are all a new machine needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export KAFKA_PORT ?= 9092
export PG_PORT ?= 54329
export AEROFN_TEST_KAFKA_BROKERS ?= 127.0.0.1:$(KAFKA_PORT)
export AEROFN_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:$(PG_PORT)/postgres

NPM_STAMP := node_modules/.aerofn-installed

.PHONY: proto proto-check tools help deps build build-ts build-wasm lint typecheck test test-unit run bench kafka-up kafka-down pg-up pg-down services-up services-down proto clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: $(NPM_STAMP) ## install npm packages (from the lock file)

build-wasm: deps ## compile the AssemblyScript SDK examples to sdk/assemblyscript/build
	bash scripts/build-examples.sh

build-ts: deps ## compile TypeScript to dist/
	npx tsc -p tsconfig.build.json

build: build-wasm build-ts ## build everything

typecheck: deps ## type-check src, test and bench
	npx tsc -p tsconfig.json

lint: deps typecheck proto-check ## eslint, type check, stale generated code and the import-cycle check
	npx eslint .
	node scripts/check-cycles.mjs

proto: deps ## regenerate src/gen from proto/ with buf + ts-proto
	bash scripts/gen-proto.sh

proto-check: deps ## fail when src/gen is stale against proto/
	bash scripts/gen-proto.sh --check

tools: ## install the test peers we did not write (grpcurl from the Go module proxy)
	bash scripts/install-tools.sh

kafka-up: ## fetch Apache Kafka from Maven Central (once) and start one KRaft node on 127.0.0.1:$(KAFKA_PORT)
	bash scripts/kafka.sh up

kafka-down: ## stop the test broker
	bash scripts/kafka.sh down

pg-up: ## install PostgreSQL from Debian (once) and start a throwaway cluster on 127.0.0.1:$(PG_PORT)
	bash scripts/postgres.sh up

pg-down: ## stop the throwaway PostgreSQL cluster
	bash scripts/postgres.sh down

services-up: kafka-up pg-up ## start every service the integration tests use
services-down: kafka-down pg-down ## stop them

test: build lint services-up tools ## install everything, start the real services, run every test
	bash scripts/run-tests.sh

test-unit: build ## only the tests that need no external service
	bash scripts/run-tests.sh test/unit

run: build ## start `aerofn serve` on the embedded defaults with the examples deployed
	bash scripts/run-dev.sh

bench: build services-up ## run the benchmarks (results: docs/benchmarks.md)
	bash scripts/run-bench.sh

clean: ## remove build output and the local data directory
	rm -rf dist data sdk/assemblyscript/build
