# convirt — build, test and demo. `make test` and `make demo` install what they
# need first (make setup), so both work on a fresh Debian 12 machine.

SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)
GO ?= go
# LIBTORCH=/path/to/libtorch fits the build to another libtorch (e.g. a CUDA
# build inside a PyTorch install); empty means Debian's libtorch-dev.
LIBTORCH ?=
export LIBTORCH
GOLANGCI_VERSION := v2.15.0
TEST_TIMEOUT ?= 25m
BENCH_STEPS ?= 5

BIN := bin/convirt
DEB_PACKAGES := libtorch-dev libopenblas0-openmp g++ git ca-certificates

.PHONY: all setup fit build test test-short demo bench bench-compare soak lint fmt vet clean

all: build

## setup: install system packages (idempotent; apt-get only when one is missing)
setup:
	@command -v $(GO) >/dev/null || { echo "setup: Go not found; install Go 1.26 at /usr/local/go" >&2; exit 1; }
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "setup: installing$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

## fit: fit gotch to the installed libtorch (.build/gotch + go.work)
fit: setup
	@GOWORK=off $(GO) run ./cmd/fitgotch

## build: bin/convirt
build: fit
	$(GO) build -o $(BIN) ./cmd/convirt

## test: every unit and integration test (under ~20 minutes on 2 cores)
test: build
	$(GO) test -timeout $(TEST_TIMEOUT) ./...

test-short: build
	$(GO) test -short -timeout $(TEST_TIMEOUT) ./...

## demo: synthetic corpus, ConVIRT pretraining, probes and retrieval on a CPU
demo: build
	$(BIN) run recipes/demo.yaml
	$(BIN) demo check

## bench: model training-step benchmarks (JSON lines)
bench: build
	@for a in smallcnn resnet18 resnet50 bert-tiny bert-base; do \
		$(BIN) bench model --arch $$a --size 224 --batch 8 --steps $(BENCH_STEPS) --json || exit 1; \
	done

## bench-compare: the same steps in PyTorch eager on the same libtorch (not in CI)
bench-compare: build
	@dpkg -s python3-torch >/dev/null 2>&1 || { SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; $$SUDO apt-get install -y -qq python3-torch python3-torchvision >/dev/null; }
	@for a in resnet18 resnet50; do \
		$(BIN) bench model --arch $$a --size 224 --batch 8 --steps $(BENCH_STEPS) --threads 1 --json; \
		/usr/bin/python3 plugins/models/benchcompare/bench_torch.py --arch $$a --size 224 --batch 8 --steps $(BENCH_STEPS) --threads 1; \
	done

## lint: gofmt, go vet and golangci-lint
lint: fit
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@command -v golangci-lint >/dev/null || GOWORK=off $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
	golangci-lint run ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin .build go.work go.work.sum
