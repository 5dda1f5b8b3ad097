# cardhost developer targets. README.md gives the two commands that matter:
# `go run ./cmd/cardhost serve` and the test command; these are conveniences.

SHELL := /bin/bash

BENCH_DIR      ?= bench-results
BENCH_DURATION ?= 30s
BENCH_CARDS    ?= 64
BENCH_FUNDED   ?= 0
BENCH_CONNS    ?= 4
BENCH_INFLIGHT ?= 16
BENCH_MIX      ?= testdata/bench/mix.yaml
BENCH_DB       ?= cardhost_bench
BENCH_PG       ?= postgres://postgres@127.0.0.1:5432
BENCH_HTTP     ?= 127.0.0.1:18080
BENCH_ISO      ?= 127.0.0.1:18583
BENCH_KAFKA    ?= 127.0.0.1:19092
BENCH_PPROF    ?= 127.0.0.1:16060
# BENCH_PG_CPU says which processes are PostgreSQL's cost: every one (the
# default; right on a machine nothing else uses) or, on a shared machine,
# cmdline:$(BENCH_DB) (the bench database's backends only, without the
# server's own WAL writer, checkpointer and background writer).
BENCH_PG_CPU   ?= comm:postgres

.PHONY: test vet fmt bench

test:
	go test -count=1 ./...

vet:
	go vet ./...

fmt:
	gofmt -l $$(git ls-files '*.go')

# bench starts a PostgreSQL-backed cardhost (fresh database, production-like
# logging, profiles on loopback), runs `termsim load --baseline` with the
# fixed mix on BENCH_CARDS cards of which BENCH_FUNDED are funded (half
# SHARED, half PREPAID; default 0: LIMIT cards only), and writes the JSON
# summary, the text report and CPU and heap profiles of cardhost into
# $(BENCH_DIR). The report gives the CPU time per decision of cardhost and
# of every process named postgres (on a machine where nothing else uses
# PostgreSQL, that is the decision's whole database cost). BENCH_HTTP, BENCH_ISO, BENCH_KAFKA and BENCH_PPROF move its
# ports.
.ONESHELL:
.SILENT: bench
bench:
	set -euo pipefail
	mkdir -p $(BENCH_DIR)
	go build -o $(BENCH_DIR)/cardhost ./cmd/cardhost
	go build -o $(BENCH_DIR)/termsim ./cmd/termsim
	psql "$(BENCH_PG)/postgres?sslmode=disable" -q -c 'DROP DATABASE IF EXISTS $(BENCH_DB)'
	rm -rf $(BENCH_DIR)/data
	export DATABASE_URL="$(BENCH_PG)/$(BENCH_DB)?sslmode=disable" CARDHOST_DATA_DIR=$(BENCH_DIR)/data \
	  CARDHOST_HTTP_ADDR=$(BENCH_HTTP) CARDHOST_ISO_ADDR=$(BENCH_ISO) CARDHOST_EMBEDDED_KAFKA_ADDR=$(BENCH_KAFKA) \
	  CARDHOST_PPROF_ADDR=$(BENCH_PPROF) CARDHOST_LOG_LEVEL=warn
	$(BENCH_DIR)/cardhost serve > $(BENCH_DIR)/cardhost.out 2> $(BENCH_DIR)/cardhost.log &
	pid=$$!
	trap 'kill $$pid 2>/dev/null || true' EXIT
	for i in $$(seq 60); do curl -sf http://$(BENCH_HTTP)/readyz > /dev/null && break; sleep 1; done
	key=$$(grep -o 'chk_[A-Za-z0-9_-]*' $(BENCH_DIR)/cardhost.out | head -1)
	secs=$$(echo $(BENCH_DURATION) | sed 's/s$$//')
	( sleep $$(( secs + secs / 4 + 3 )); curl -s "http://$(BENCH_PPROF)/debug/pprof/profile?seconds=$$(( secs / 2 ))" > $(BENCH_DIR)/cpu.prof; \
	  curl -s http://$(BENCH_PPROF)/debug/pprof/heap > $(BENCH_DIR)/heap.prof ) &
	prof=$$!
	$(BENCH_DIR)/termsim load --host $(BENCH_ISO) --api http://$(BENCH_HTTP) --key "$$key" --cards $(BENCH_CARDS) --funded $(BENCH_FUNDED) \
	  --connections $(BENCH_CONNS) --inflight $(BENCH_INFLIGHT) --duration $(BENCH_DURATION) --mix $(BENCH_MIX) \
	  --baseline --quiet --json $(BENCH_DIR)/summary.json --cpu cardhost=$$pid --cpu postgresql=$(BENCH_PG_CPU) | tee $(BENCH_DIR)/report.txt
	wait $$prof || true
	echo "results in $(BENCH_DIR): summary.json report.txt cpu.prof heap.prof (go tool pprof $(BENCH_DIR)/cardhost $(BENCH_DIR)/cpu.prof)"
