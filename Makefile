SHELL := /bin/bash
# make demo: build and run the main path against a local test host.
# make test: every test (unit and integration against real test hosts).
# make bench: Go benchmarks and whole-command timings (hyperfine).

export PATH := $(PATH):/usr/local/go/bin
GO ?= go
BIN := bin/machine
PKGS := ./...

.PHONY: all build deps images test unit integration vet demo bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/machine

deps:
	bash scripts/ensure-deps.sh

images: deps
	bash integration/testhost/build.sh
	bash integration/testhost/vm-image.sh >/dev/null

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting" >&2; exit 1; }
	$(GO) vet $(PKGS)

unit: vet
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /integration)

integration: images
	@log=$$(mktemp /tmp/machine-integration.XXXXXX.log); \
	$(GO) test -count=1 -timeout 45m -v ./integration 2>&1 | tee $$log | grep --line-buffered -E '^(=== RUN|--- |PASS|FAIL|ok|panic)'; \
	rc=$${PIPESTATUS[0]}; \
	if [ $$rc -ne 0 ]; then echo "--- failures (full log: $$log):"; grep -v -E '^(=== (RUN|PAUSE|CONT)|\s+--- PASS)' $$log | tail -n 400; fi; \
	exit $$rc

test: deps unit integration

demo: deps build
	bash scripts/demo.sh

bench: deps build images
	$(GO) test -run '^$$' -bench . -benchmem $$($(GO) list ./... | grep -v /integration)
	bash scripts/bench.sh

clean:
	rm -rf bin
