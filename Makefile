# Nebras: make demo runs the main job on embedded defaults, make test runs
# the whole suite. Everything beyond Go itself comes from the Go module proxy.

GO       ?= go
BIN      := bin/nebras
DEMO_DIR ?= demo
DEMO_N   ?= 2000
TEST_TIMEOUT ?= 20m

BENCHSTAT := $(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

.PHONY: all build demo test vet bench fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/nebras

demo: build
	$(BIN) tickets generate --n $(DEMO_N) --seed 1 --out $(DEMO_DIR)/tickets.jsonl --overwrite
	$(BIN) prepare --input $(DEMO_DIR)/tickets.jsonl --output $(DEMO_DIR)/dataset --overwrite

vet:
	$(GO) vet ./...
	@fmt=$$(gofmt -l .); \
	  if [ -n "$$fmt" ]; then echo "gofmt needed:"; echo "$$fmt"; exit 1; fi

test: vet
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...

# bench runs the benchmarks, each comparison side by side in one process,
# and writes bench/report.txt with benchstat's medians; the raw numbers stay
# in bench/raw.txt. Single-core figures (tokenizer, transforms) use -cpu 1.
# The pipeline runs 200k conversations through the plain loop and Prism
# (NEBRAS_BENCH_CONVERSATIONS changes that), then measures peak RSS of a
# prepare process at 1x and 4x input.
bench:
	@mkdir -p bench
	$(GO) test -run '^$$' -bench . -benchmem -count 5 -cpu 1 ./model/tokenizer/ ./transforms/... | tee bench/raw.txt
	$(GO) test -run '^$$' -bench 'BenchmarkPipeline$$' -benchtime 1x -count 3 -timeout 60m ./pipelines/ | tee -a bench/raw.txt
	$(GO) test -run '^$$' -bench 'BenchmarkPrepareRSS' -benchtime 1x -count 1 -timeout 60m ./pipelines/ | tee -a bench/raw.txt
	$(BENCHSTAT) bench/raw.txt > bench/report.txt
	@echo "report: bench/report.txt"

# fuzz gives every parser of untrusted input a short fuzzing run.
FUZZTIME ?= 20s
fuzz:
	@for pkg in ./model/tokenizer ./transforms ./pipelines/...; do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin $(DEMO_DIR) bench
