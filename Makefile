# infergate — `make help` lists the targets.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

export CGO_ENABLED := 1
GO       ?= go
BIN      := bin/infergate
CONFIG   ?= configs/infergate.yaml
GOLANGCI_LINT_VERSION := v2.7.2

.PHONY: help setup build run test lint fuzz bench bench-shadow microbench lifecycle gpu-check-build clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## download Go modules and install the pinned ONNX Runtime library
	$(GO) mod download
	./scripts/install-ort.sh

build: setup ## build bin/infergate
	$(GO) build -o $(BIN) ./cmd/infergate

run: build ## train the demo models the registry lacks, load their features, then serve them (API :8080, admin :8081)
	$(BIN) train --demo --if-missing --config $(CONFIG)
	test -f var/features/snapshot.json || $(BIN) features materialize --config $(CONFIG) --from var/data/churn.csv --event-time now
	$(BIN) serve --config $(CONFIG)

test: setup ## gofmt check, go vet and every test with the race detector (installs redis-server for the feature store tests)
	./scripts/install-redis.sh
	@out=$$(git ls-files -z '*.go' | xargs -0 -r gofmt -l); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -shuffle=on -count=1 ./...

lint: ## gofmt, go vet and golangci-lint (installed at a pinned version)
	@out=$$(git ls-files -z '*.go' | xargs -0 -r gofmt -l); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) run ./...

fuzz: setup ## run every fuzz target for FUZZTIME (default 2m) each; a crasher stays in testdata/fuzz
	./scripts/fuzz.sh

BENCH_REGISTRY := bench/results/registry

bench: build ## the standard load scenario (configs/bench/standard.yaml); report under bench/results/
	rm -rf $(BENCH_REGISTRY)
	$(BIN) train --demo --registry $(BENCH_REGISTRY) --demo-data bench/results/churn.csv
	$(GO) run ./cmd/heavymodel --registry $(BENCH_REGISTRY) --hidden 1024 --layers 2
	$(BIN) bench --scenario configs/bench/standard.yaml

bench-shadow: build ## shadow isolation: p99 with a hanging or failing shadow vs none (configs/bench/shadow.yaml)
	rm -rf $(BENCH_REGISTRY)
	$(BIN) train --demo --registry $(BENCH_REGISTRY) --demo-data bench/results/churn.csv
	$(BIN) bench --scenario configs/bench/shadow.yaml --out bench/results/shadow

microbench: setup ## Go benchmarks of the request path (ns/op, allocs/op)
	$(GO) test -run '^$$' -bench . -benchmem ./runtime/ ./batcher/ ./gateway/ ./bench/...

lifecycle: build ## the model lifecycle end to end: train, serve, drift, retrain, shadow, canary, promote (scripts/lifecycle.sh)
	./scripts/lifecycle.sh

gpu-check-build: setup ## the binaries scripts/gpu-check.sh runs on a GPU machine without Go (stripped: they travel)
	$(GO) build -ldflags '-s -w' -o $(BIN) ./cmd/infergate
	$(GO) build -ldflags '-s -w' -o bin/heavymodel ./cmd/heavymodel

clean: ## remove build outputs and the local registry
	rm -rf bin var
