# Nebras: make demo runs the main job on embedded defaults, make test runs
# the whole suite. Everything beyond Go itself comes from the Go module proxy.

GO       ?= go
BIN      := bin/nebras
DEMO_DIR ?= demo
# DEMO_ADDR is where make demo serves the promoted model at the end;
# NO_SERVE=1 stops after promotion (scripts, CI).
DEMO_ADDR ?= 127.0.0.1:8080
NO_SERVE ?=
TEST_TIMEOUT ?= 20m

BENCHSTAT := $(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

.PHONY: all build demo test vet bench bench-model bench-serve fuzz reference clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/nebras

demo: build
	@# nebras run on its embedded defaults (nebras run --print-defaults):
	@# 2,000 synthetic tickets, prepare, train a tiny GPT-2, evaluate it
	@# against production, promote it if the gate blesses it. Stages whose
	@# inputs did not change are skipped, so a second make demo is quick.
	$(BIN) run --work-dir $(DEMO_DIR)
ifeq ($(NO_SERVE),)
	@echo "serving the production model (Ctrl-C stops; make demo NO_SERVE=1 skips this step)"
	$(BIN) serve --registry-model nebras-support-bot --alias production --addr $(DEMO_ADDR) --poll-interval 10s
endif

vet:
	$(GO) vet ./...
	@fmt=$$(gofmt -l .); \
	  if [ -n "$$fmt" ]; then echo "gofmt needed:"; echo "$$fmt"; exit 1; fi

test: vet browser
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...

# browser installs Debian's chromium for the chat page's headless-browser
# test (serving/web) when no browser is found and we are root with apt-get;
# anywhere else that test skips. NEBRAS_CHROME names a browser binary.
.PHONY: browser
browser:
	@if [ -n "$$NEBRAS_CHROME" ] || command -v chromium >/dev/null 2>&1 || \
	    command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1 || \
	    command -v google-chrome-stable >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium for the browser test"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  { apt-get install -y -q chromium >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }; } || \
	  echo "could not install chromium: the browser test will skip"; \
	else echo "no chromium found and cannot install it: the browser test will skip"; fi

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
	$(GO) test -run '^$$' -bench 'Gemm|Gemv|Dot|Axpy' -benchmem -count 5 -timeout 60m ./model/kernels/ | tee -a bench/raw.txt
	$(GO) test -run '^$$' -bench 'TrainStep|Decode' -benchmem -count 5 -timeout 60m ./model/ | tee -a bench/raw.txt
	$(GO) test -run '^$$' -bench 'LoaderNext' -benchmem -count 5 ./training/ | tee -a bench/raw.txt
	$(GO) test -run '^$$' -bench 'BenchmarkTrain$$' -benchtime 1x -count 3 -timeout 60m ./training/ | tee -a bench/raw.txt
	$(GO) test -run '^$$' -bench 'CorpusBLEU10k|CorpusROUGE10k' -benchmem -count 5 ./eval/metrics/ | tee -a bench/raw.txt
	$(BENCHSTAT) bench/raw.txt > bench/report.txt
	@echo "report: bench/report.txt"

# bench-serve load-tests the chat API in process at concurrency 1, 8 and 32
# with continuous batching on and off, then floods a small queue. It uses
# the demo's production model when make demo has run, else a random tiny
# GPT-2 (which answers to max_tokens, never stopping early).
bench-serve: build
	@mkdir -p bench
	@if [ -d mlruns/models/nebras-support-bot ]; then src="--registry-model nebras-support-bot"; else \
	    [ -d bench/serve-model ] || $(BIN) model init --config tiny --out bench/serve-model --seed 1 >/dev/null; \
	    src="--model bench/serve-model"; fi; \
	  echo "model: $$src"; \
	  $(BIN) bench serve $$src --log-level warn --out bench/serve.json | tee bench/serve.txt

# bench-model compares the GPT-2 engine with PyTorch in one run (PyTorch's
# side runs when Debian's python3-torch is installed; see ci/bench/).
bench-model:
	ci/bench/model-bench.sh

# reference regenerates the PyTorch fixtures into a scratch directory,
# checks they are byte-identical to the committed ones, and runs the test
# that has PyTorch reload our saved checkpoint. Needs python3-torch
# (apt-get install python3-torch); make test never does.
reference:
	@/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "python3-torch is not installed: apt-get install python3-torch"; exit 1; }
	@tmp=$$(mktemp -d) && /usr/bin/python3 model/testdata/reference/gpt2_reference.py write $$tmp >/dev/null && \
	  for f in case.safetensors lora.safetensors tiny/model.safetensors tiny/config.json lora_adapter/adapter_model.safetensors lora_adapter/adapter_config.json; do \
	    cmp -s $$tmp/$$f model/testdata/reference/$$f || { echo "fixture $$f differs from a fresh run"; rm -rf $$tmp; exit 1; }; \
	  done; rm -rf $$tmp; echo "fixtures reproduce byte for byte"
	$(GO) test -count 1 -run 'TestReference' -v ./model/

# fuzz gives every parser of untrusted input a short fuzzing run.
FUZZTIME ?= 20s
fuzz:
	@for pkg in ./model ./model/tokenizer ./model/safetensors ./model/hub ./transforms ./pipelines/... ./tracking/... ./eval/... ./serving/...; do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin $(DEMO_DIR) bench
