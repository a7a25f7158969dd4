# 同修 Tongxiu — two commands: `make run` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
SERVERS := .tongxiu/servers

.PHONY: help setup run test test-unit fuzz lint bench bench-more bench-distributed infra-up infra-down schemas screenshots clean

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'  # dev = all extras (server, distributed, cli) + test tools
	touch $(STAMP)

setup: $(STAMP) ## create .venv and install Tongxiu with its dependencies

run: setup ## set up, then run the demo on the embedded backend
	$(BIN)/tongxiu demo

test: setup lint ## lint, set up, start Kafka + Cassandra, run every test, stop them
	sh infra/setup_browser.sh
	$(BIN)/python -m tongxiu.infra.launch up --state-dir $(SERVERS)
	$(BIN)/python -m pytest; rc=$$?; $(BIN)/python -m tongxiu.infra.launch down --state-dir $(SERVERS); \
	  for d in .tongxiu/fault-servers/*/; do [ -d "$$d" ] && $(BIN)/python -m tongxiu.infra.launch down --state-dir "$$d" >/dev/null; done; \
	  exit $$rc

test-unit: setup ## tests that need no servers
	$(BIN)/python -m pytest -m "not integration"

fuzz: setup ## the fuzz suite at length: FUZZ_EXAMPLES mutated examples per path (SDK, CLI, HTTP)
	TONGXIU_FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-5000} $(BIN)/python -m pytest tests/fuzz tests/e2e/test_http_schemathesis.py -q

LINT    := .tongxiu/lint

lint: setup ## import direction (lint-imports) + ruff + mypy strict on every package
	@# the installed package is `tongxiu` (its subpackages are the repository's folders): the
	@# linters read it through a tree of links, .tongxiu/lint/tongxiu/<folder> -> <folder>
	@mkdir -p $(LINT)/tongxiu && for p in events projections services streams infra entrypoints; do ln -sfn ../../../$$p $(LINT)/tongxiu/$$p; done
	PYTHONPATH=$(LINT) $(BIN)/lint-imports
	$(BIN)/ruff check events projections services streams infra entrypoints tests bench
	MYPYPATH=$(LINT) $(BIN)/mypy -p tongxiu.events -p tongxiu.projections -p tongxiu.services -p tongxiu.streams -p tongxiu.infra -p tongxiu.entrypoints

BENCH_ARGS ?=

bench: setup ## issue 11's table in one run (bench/table.py; BENCH_ARGS="--events 20000" for a quick one)
	$(BIN)/pip install -q -e '.[bench]'  # eventsourcing, the peer of rows c and d (bench only)
	$(BIN)/python -m bench.table $(BENCH_ARGS)

bench-more: setup ## the older benches: write/replay detail, long histories, transparency log
	$(BIN)/python -m bench.write_replay
	$(BIN)/python -m bench.long_history
	$(BIN)/python -m bench.transparency
	$(BIN)/python -m bench.transparency_cassandra  # needs Cassandra (TONGXIU_SERVERS_DIR)

bench-distributed: setup ## distributed rows (pipeline vs bare kafka-python; sent -> projection p99); servers up
	$(BIN)/python -m bench.distributed $(BENCH_ARGS)

screenshots: setup ## regenerate docs/screenshots deliberately (the page tests write them only here)
	sh infra/setup_browser.sh
	TONGXIU_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/e2e/test_pages.py tests/e2e/test_supervision_pages.py -q

schemas: setup ## regenerate docs/schemas from the event models
	$(BIN)/tongxiu schema export

infra-up: setup ## start local Kafka and Cassandra (resolved from Maven Central)
	$(BIN)/python -m tongxiu.infra.launch up --state-dir $(SERVERS)

infra-down: ## stop them
	$(BIN)/python -m tongxiu.infra.launch down --state-dir $(SERVERS)

clean: ## remove the venv and local data
	rm -rf $(VENV) .tongxiu
