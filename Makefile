# posml — see README.md. `make help` lists the targets.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/posml/posml/internal/cli.version=$(VERSION)

.PHONY: help build test lint demo bench-tracking bench-engine bench-executors clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

build: ## build ./bin/posml
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/posml ./cmd/posml

test: ## the full test suite (installs missing Debian packages, starts PostgreSQL)
	./scripts/test.sh

lint: ## go vet and gofmt
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || (gofmt -l .; exit 1)

demo: build ## build, create the demo project and start posml on its embedded defaults
	./scripts/demo.sh

bench-tracking: build ## benchmark the tracking server (see README, Benchmarks)
	./scripts/bench-tracking.sh

bench-engine: ## benchmark the scheduler tick, fire-to-start latency and per-run overhead
	$(GO) test ./internal/scheduler -run '^$$' -bench . -benchtime 3x
	POSML_BENCH_DURABLE=1 $(GO) test ./internal/runner -run '^$$' -bench 'FireToStart|RunOverhead' -benchtime 3x

bench-executors: ## submit-to-running on the test Kubernetes control plane and Slurm cluster (starts them)
	eval "$$(scripts/slurm.sh)" && eval "$$(scripts/kube.sh)" && \
	$(GO) test ./internal/executor/kube ./internal/executor/slurm -run '^$$' -bench SubmitToRunning -benchtime 10x

clean: ## remove build output
	rm -rf bin
