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
CORES ?= $(shell nproc)

BIN := bin/convirt
DEB_PACKAGES := libtorch-dev libgloo-dev libopenblas0-openmp g++ git ca-certificates python3-torch python3-torchvision python3-grpcio python3-protobuf python3-numpy python3-cryptography chromium

.PHONY: all setup fit build test test-short fuzz demo demo-objectives bench bench-compare bench-precision bench-rss soak lint fmt vet clean

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

## build: bin/convirt, stamped with its version (CONVIRT_VERSION, default git
## describe's) and the commit it is built from
## (core/runs.ReadBuild; also where GOFLAGS=-buildvcs=false)
STAMP := github.com/convirt/convirt/core/runs
CONVIRT_VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
build: fit
	$(GO) build -ldflags "-X $(STAMP).linkVersion=$(CONVIRT_VERSION) -X $(STAMP).linkRevision=$$(git rev-parse HEAD 2>/dev/null) -X $(STAMP).linkModified=$$(test -n "$$(git status --porcelain 2>/dev/null)" && echo true) -X $(STAMP).linkTime=$$(git log -1 --format=%cI 2>/dev/null)" -o $(BIN) ./cmd/convirt

## test: every unit and integration test, then each fuzz target (under
## ~20 minutes on 2 cores)
test: build
	$(GO) test -timeout $(TEST_TIMEOUT) ./...
	$(MAKE) --no-print-directory fuzz

## fuzz: each parser's fuzz target for its number of executions (about 30 s
## for all five on 2 cores; FUZZTIME=60s fuzzes each for that long instead).
## Executions, not a duration, by default: when a -fuzztime deadline falls
## while the workers hold every core, Go 1.26's fuzz coordinator can report
## the deadline itself ("context deadline exceeded", no input written) as a
## failure. Minimisation is bounded by executions for the same reason.
FUZZTIME ?=
FUZZ_TARGETS := core/recipe:FuzzParse:20000 plugins/datasets/radreport:FuzzReport:300000 \
	plugins/datasets/dicom:FuzzDecode:300000 plugins/datasets/csvfile:FuzzParse:200000 \
	plugins/datasets/covidx:FuzzOpen:15000
fuzz: fit
	@for t in $(FUZZ_TARGETS); do \
		IFS=: read -r pkg name execs <<< "$$t"; \
		budget="$(FUZZTIME)"; [ -n "$$budget" ] || budget=$${execs}x; \
		echo "fuzz ./$$pkg $$name for $$budget"; \
		out=$$($(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $$budget -fuzzminimizetime 1000x ./$$pkg 2>&1) || { echo "$$out"; exit 1; }; \
	done

test-short: build
	$(GO) test -short -timeout $(TEST_TIMEOUT) ./...

## demo: synthetic corpus, ConVIRT pretraining, probes and retrieval on a CPU
demo: build
	$(BIN) run recipes/demo.yaml
	$(BIN) demo check

## demo-objectives: the paper's pretraining objectives side by side on the
## synthetic corpus (recipes/demo-objectives.yaml; about 25 minutes on 2 cores),
## then their table and label-efficiency plot (docs/objectives.md); not in CI
demo-objectives: build
	$(BIN) run recipes/demo-objectives.yaml
	$(GO) run ./cmd/objectives

## bench: benchmarks as JSON lines (docs/performance.md): model steps; the
## full ConVIRT step through plugins with the recommended settings (encoders
## in turn, all cores each); the split beside the same step with the plugins
## in one process; the plugin boundary of one ResNet-50 forward; data
## loading from full-size JPEGs (prepared cache) and its rate over the
## step's; GradCache peak memory at batch 256 vs 32 (chunk 32, small models)
bench: build
	@set -o pipefail; d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	for a in smallcnn resnet18 resnet50 bert-tiny bert-base convirt; do \
		$(BIN) bench model --arch $$a --size 224 --batch 8 --text-len 32 --steps $(BENCH_STEPS) --json || exit 1; \
	done; \
	$(BIN) bench convirt --batch 32 --size 224 --text-len 32 --steps $(BENCH_STEPS) --threads $(CORES) --sequential --json | tee $$d/step.json || exit 1; \
	$(BIN) bench convirt --batch 32 --size 224 --text-len 32 --steps $(BENCH_STEPS) --threads $(CORES) --sequential --inprocess --ref loop --json || exit 1; \
	$(BIN) bench boundary --image resnet50 --batch 32 --size 224 --steps $(BENCH_STEPS) --json || exit 1; \
	$(BIN) bench data --dataset mimic-cxr --synth 64 --size 224 --augment --batch 32 --batches $(BENCH_STEPS) --workers $(CORES) --prepare --json | tee $$d/data.json || exit 1; \
	echo "loader images/s over the ConVIRT step's pairs/s:"; $(BIN) bench ratio --field items_per_sec $$d/data.json $$d/step.json || exit 1; \
	for b in 32 256; do \
		$(BIN) bench convirt --image smallcnn --text tiny --size 64 --batch $$b --gradcache 32 --steps $(BENCH_STEPS) --json | tee $$d/gc$$b.json || exit 1; \
	done; \
	echo "GradCache chunk 32, batch 256 vs 32:"; $(BIN) bench ratio --field rss_peak_total_mb,sec_per_step $$d/gc256.json $$d/gc32.json

## bench-compare: the same steps in PyTorch eager on the same libtorch, side
## by side with the ratio convirt/PyTorch (not in CI). Each comparison runs
## BENCH_ROUNDS rounds, convirt and PyTorch one after the other in every
## round, and compares the medians over the rounds, so a burst of load on a
## shared machine lands on both sides or is outvoted. PyTorch runs with the
## glibc malloc settings convirt's processes set for themselves
## (plugins/models/torchrt/malloc.go, and huge pages: core/thp), so the
## ratios compare the frameworks, not the allocators; the last line is
## PyTorch with glibc's defaults.
BENCH_ROUNDS ?= 3
PY_MALLOC := MALLOC_ARENA_MAX=1 MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1000000000000 GLIBC_TUNABLES=glibc.malloc.hugetlb=1
BENCH_PY := /usr/bin/python3 -B plugins/models/benchcompare/bench_torch.py
RATIO_FIELDS := sec_per_step,sec_per_step_median,items_per_sec
bench-compare: build
	@dpkg -s python3-torch >/dev/null 2>&1 || { SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; $$SUDO apt-get install -y -qq python3-torch python3-torchvision >/dev/null; }
	@set -o pipefail; d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	for a in resnet18 resnet50 bert-base convirt; do \
		echo "== $$a, batch 8, 224 px, 32 tokens, 1 thread: convirt / PyTorch, $(BENCH_ROUNDS) rounds"; \
		for r in $$(seq $(BENCH_ROUNDS)); do \
			$(BIN) bench model --arch $$a --size 224 --batch 8 --text-len 32 --steps $(BENCH_STEPS) --threads 1 --json | tee -a $$d/go-$$a.json || exit 1; \
			$(PY_MALLOC) $(BENCH_PY) --arch $$a --size 224 --batch 8 --text-len 32 --steps $(BENCH_STEPS) --threads 1 | tee -a $$d/py-$$a.json || exit 1; \
		done; \
		$(BIN) bench ratio --reduce median --field $(RATIO_FIELDS) $$d/go-$$a.json $$d/py-$$a.json || exit 1; \
	done; \
	echo "== ConVIRT step, batch 32: split (encoders in turn, $(CORES) threads each) / PyTorch ($(CORES) threads), $(BENCH_ROUNDS) rounds"; \
	for r in $$(seq $(BENCH_ROUNDS)); do \
		$(BIN) bench convirt --batch 32 --size 224 --text-len 32 --steps $(BENCH_STEPS) --threads $(CORES) --sequential --json | tee -a $$d/split.json || exit 1; \
		$(PY_MALLOC) $(BENCH_PY) --arch convirt --batch 32 --size 224 --text-len 32 --steps $(BENCH_STEPS) --threads $(CORES) | tee -a $$d/py.json || exit 1; \
		$(BENCH_PY) --arch convirt --batch 32 --size 224 --text-len 32 --steps $(BENCH_STEPS) --threads $(CORES) | tee -a $$d/pydefault.json || exit 1; \
	done; \
	$(BIN) bench ratio --reduce median --field $(RATIO_FIELDS) $$d/split.json $$d/py.json || exit 1; \
	echo "== the same split step / PyTorch with glibc's default malloc:"; \
	$(BIN) bench ratio --reduce median --field $(RATIO_FIELDS) $$d/split.json $$d/pydefault.json
	@$(MAKE) --no-print-directory bench-precision

## bench-precision: mixed precision (docs/performance.md, "Mixed
## precision"), run by bench-compare: ResNet-50's training step (batch 8,
## 224 px, 1 thread) in fp32 and bf16, contiguous and channels-last, and the
## full ConVIRT step (batch 32, 224 px, 32 tokens, encoders in turn) in fp32
## and bf16 (BENCH_LAYOUT=--channels-last for that layout), each beside
## PyTorch eager under the same autocast and layout, in BENCH_ROUNDS
## interleaved rounds; ratios of medians. bf16 needs a CPU with AVX-512 BF16
## or AMX.
BENCH_LAYOUT ?=
bench-precision: build
	@set -o pipefail; d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	echo "== ResNet-50, batch 8, 224 px, 1 thread: fp32 and bf16, contiguous and channels-last, $(BENCH_ROUNDS) rounds"; \
	for r in $$(seq $(BENCH_ROUNDS)); do for p in fp32 bf16; do for l in "" --channels-last; do \
		$(BIN) bench model --arch resnet50 --size 224 --batch 8 --steps $(BENCH_STEPS) --threads 1 --precision $$p $$l --json | tee -a $$d/go-$$p$$l.json || exit 1; \
		$(PY_MALLOC) $(BENCH_PY) --arch resnet50 --size 224 --batch 8 --steps $(BENCH_STEPS) --threads 1 --precision $$p $$l | tee -a $$d/py-$$p$$l.json || exit 1; \
	done; done; done; \
	for v in bf16 bf16--channels-last fp32--channels-last; do \
		echo "== ResNet-50 convirt $$v / convirt fp32:"; $(BIN) bench ratio --reduce median --field $(RATIO_FIELDS),cpu_sec_per_step $$d/go-$$v.json $$d/go-fp32.json || exit 1; \
		echo "== ResNet-50 convirt $$v / PyTorch $$v:"; $(BIN) bench ratio --reduce median --field $(RATIO_FIELDS),cpu_sec_per_step $$d/go-$$v.json $$d/py-$$v.json || exit 1; \
	done; \
	echo "== ConVIRT step, batch 32: split (encoders in turn, $(CORES) threads each) and PyTorch, fp32 and bf16 $(BENCH_LAYOUT), $(BENCH_ROUNDS) rounds"; \
	for r in $$(seq $(BENCH_ROUNDS)); do for p in fp32 bf16; do \
		$(BIN) bench convirt --batch 32 --size 224 --text-len 32 --steps $(BENCH_STEPS) --threads $(CORES) --sequential --precision $$p $(BENCH_LAYOUT) --json | tee -a $$d/split-$$p.json || exit 1; \
		$(PY_MALLOC) $(BENCH_PY) --arch convirt --batch 32 --size 224 --text-len 32 --steps $(BENCH_STEPS) --threads $(CORES) --precision $$p $(BENCH_LAYOUT) | tee -a $$d/pysplit-$$p.json || exit 1; \
	done; done; \
	echo "== ConVIRT step bf16 / fp32 (convirt):"; $(BIN) bench ratio --reduce median --field $(RATIO_FIELDS),usage_per_step.user_sec $$d/split-bf16.json $$d/split-fp32.json || exit 1; \
	echo "== ConVIRT step convirt bf16 / PyTorch bf16:"; $(BIN) bench ratio --reduce median --field $(RATIO_FIELDS),usage_per_step.user_sec $$d/split-bf16.json $$d/pysplit-bf16.json

## bench-rss: resident memory over long runs (start/end RSS, growth): every
## model for 500 steps after a 500-step warm-up (the heap and the kernel's
## huge-page collapsing settle in the first few hundred steps), and the
## split ConVIRT step for 1000 steps (reduced shapes so all of it finishes
## in about 45 minutes on 2 cores; not in CI)
RSS_STEPS ?= 500
RSS_WARMUP ?= 500
bench-rss: build
	@set -e; for a in smallcnn resnet18 resnet50 bert-tiny convirt; do \
		$(BIN) bench model --arch $$a --size 64 --batch 4 --text-len 16 --warmup $(RSS_WARMUP) --steps $(RSS_STEPS) --threads 1 --json; \
	done
	$(BIN) bench convirt --image smallcnn --text tiny --size 32 --text-len 16 --batch 8 --steps 1000 --rss-every 100 --threads 1 --json
	$(BIN) bench convirt --image resnet50 --text base --size 64 --text-len 16 --batch 4 --steps 1000 --rss-every 100 --threads 1 --json

## soak: the demo recipe at small scale twice, once undisturbed and once with
## random plugin SIGKILLs and host SIGKILLs (then --resume); fails on any
## difference in the results (docs/reliability.md)
SOAK_PLUGIN_KILLS ?= 4
SOAK_HOST_KILLS ?= 2
soak: build
	$(BIN) soak --plugin-kills $(SOAK_PLUGIN_KILLS) --host-kills $(SOAK_HOST_KILLS)

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
