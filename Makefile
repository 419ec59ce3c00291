# fitbench — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/fitbench/fitbench/internal/version.Version=$(VERSION)
ADDR ?= 127.0.0.1:4080
TOOLS_BIN ?= $(HOME)/.cache/fitbench/tools/bin
# Tests run on 2 cores next to a real engine; keep package parallelism modest.
TEST_P ?= 2

.PHONY: build run test test-short bench lint engine fuzz clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/fitbench ./cmd/fitbench

# The web app on http://127.0.0.1:4080 (data in $$FITBENCH_HOME or ~/.local/share/fitbench).
run: build
	./bin/fitbench serve --addr $(ADDR)

# Builds the CPU test engine once (cached outside the checkout).
engine:
	./scripts/build-ollama.sh

# Every test, with the real engine and browser required (no skips), the race
# detector, and a bounded fuzz run of the GGUF reader.
test: engine
	$(GO) vet ./...
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	FITBENCH_REQUIRE_ENGINE=1 FITBENCH_REQUIRE_BROWSER=1 PATH="$(TOOLS_BIN):$$PATH" \
		$(GO) test -race -count=1 -p $(TEST_P) -timeout 30m ./...
	$(MAKE) fuzz

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime 10s ./internal/gguf
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 10s ./internal/source
	$(GO) test -run '^$$' -fuzz '^FuzzParseRequest$$' -fuzztime 10s ./internal/batch

# Quicker loop while developing: no race detector, no fuzzing; engine and browser
# tests still run when their binaries are present.
test-short:
	$(GO) test ./...

# Benchmarks are programs that print ratios against a baseline run in the same command.
bench: engine
	@for b in hubheader estimate download harness batch web; do \
		if [ -d tools/benchmarks/$$b ]; then \
			echo "== bench $$b"; PATH="$(TOOLS_BIN):$$PATH" $(GO) run ./tools/benchmarks/$$b || exit 1; \
		fi; \
	done

lint:
	$(GO) vet ./...
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi

clean:
	rm -rf bin
