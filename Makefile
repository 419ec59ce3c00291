# fitbench — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/fitbench/fitbench/internal/version.Version=$(VERSION)
ADDR ?= 127.0.0.1:4080
TOOLS_BIN ?= $(HOME)/.cache/fitbench/tools/bin
# Tests run on 2 cores next to a real engine; keep package parallelism modest.
TEST_P ?= 2

.PHONY: build run test test-short bench lint engine rig fuzz cross clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/fitbench ./cmd/fitbench

# The web app on http://127.0.0.1:4080 (data in $$FITBENCH_HOME or ~/.local/share/fitbench).
# With no engine on PATH it first builds the CPU Ollama the tests use (once, into
# $(TOOLS_BIN)), which fitbench then uses for Download & Benchmark.
run: build
	@if ! command -v llama-server >/dev/null && ! command -v ollama >/dev/null && ! command -v vllm >/dev/null \
		&& [ ! -x "$(TOOLS_BIN)/ollama" ]; then \
		echo "make run: no inference engine found; building the CPU Ollama into $(TOOLS_BIN) (several minutes, once) so Download & Benchmark works"; \
		./scripts/build-ollama.sh || echo "make run: the engine build failed; benchmarks will say what to install"; \
	fi
	./bin/fitbench serve --addr $(ADDR)

# Builds the CPU test engine once (cached outside the checkout).
engine:
	./scripts/build-ollama.sh

# Builds the simulated-GPU rig (tools/simgpu: llama.cpp on ggml devices that act
# as GPUs) once, cached like the engine; a re-run is a no-op.
rig:
	./scripts/build-simgpu.sh

# Every test, with the real engine and browser required (no skips), the race
# detector, and a bounded fuzz run of the GGUF reader.
test: engine rig
	$(GO) vet ./...
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	FITBENCH_REQUIRE_ENGINE=1 FITBENCH_REQUIRE_BROWSER=1 FITBENCH_REQUIRE_RIG=1 FITBENCH_REQUIRE_MOUNT=1 PATH="$(TOOLS_BIN):$$PATH" \
		$(GO) test -race -count=1 -p $(TEST_P) -timeout 30m ./...
	$(MAKE) fuzz
	$(MAKE) cross

# The binary must build for the machines people have: macOS (Apple Silicon and
# Intel) and Windows, besides Linux. Type-checks and links only; nothing runs.
cross:
	@for t in darwin/arm64 darwin/amd64 windows/amd64; do \
		echo "== GOOS/GOARCH $$t"; GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) build -o /dev/null ./cmd/fitbench || exit 1; \
	done

# -fuzzminimizetime bounds minimizing each new interesting input to 10 execs:
# by default it may take 60 s, during which the run reports 0 execs/s.
# -fuzztime is a count, not a duration: Go 1.26's coordinator can report a
# spurious "context deadline exceeded" when a duration ends while a worker is
# mid-exec (golang/go#75804, fixed in Go 1.27; seen here in CI on FuzzParse).
# The counts are roughly 10 s of fuzzing each on this 2-core machine.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime 60000x -fuzzminimizetime 10x ./internal/gguf
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 60000x -fuzzminimizetime 10x ./internal/source
	$(GO) test -run '^$$' -fuzz '^FuzzMatch$$' -fuzztime 60000x -fuzzminimizetime 10x ./internal/hardware
	$(GO) test -run '^$$' -fuzz '^FuzzParseRequest$$' -fuzztime 20000x -fuzzminimizetime 10x ./internal/batch

# Quicker loop while developing: -short skips the tests that need the engine or
# the browser (ollamatest.Require, browsertest.New say so); no race detector, no fuzzing.
test-short:
	$(GO) test -short ./...

# Benchmarks are programs that print ratios against a baseline run in the same command.
bench: engine rig
	@for b in hubheader estimate download harness batch web offload; do \
		if [ -d tools/benchmarks/$$b ]; then \
			echo "== bench $$b"; PATH="$(TOOLS_BIN):$$PATH" $(GO) run ./tools/benchmarks/$$b || exit 1; \
		fi; \
	done

lint:
	$(GO) vet ./...
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi

clean:
	rm -rf bin
