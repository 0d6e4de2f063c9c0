SHELL := /bin/bash
# make demo: build and run the main path against a local test host.
# make test: every test (unit and integration against real test hosts).
# make bench: Go benchmarks and whole-command timings (hyperfine).
# make proto: regenerate the driver plugin protocol's Go code from its .proto.

export PATH := $(PATH):/usr/local/go/bin
GO ?= go
BIN := bin/machine
PKGS := ./...

# The driver plugin protocol (drivers/plugin/proto/driver.proto) and the
# generators of its committed Go code, pinned so that `make proto` writes the
# same files everywhere: protoc from Debian bookworm's protobuf-compiler,
# protoc-gen-go at the google.golang.org/protobuf of go.mod, and
# protoc-gen-go-grpc, both built into bin/tools.
PROTO_DIR := drivers/plugin/proto
PROTOC_VERSION := 3.21.12
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
TOOLS := $(CURDIR)/bin/tools
PROTOC_GEN_GO := $(TOOLS)/protoc-gen-go-$(PROTOC_GEN_GO_VERSION)
PROTOC_GEN_GO_GRPC := $(TOOLS)/protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION)
# protoc_gen DIR: the protocol's Go code, generated into DIR.
protoc_gen = protoc -I $(PROTO_DIR) \
	--plugin=protoc-gen-go=$(PROTOC_GEN_GO) --go_out=$(1) --go_opt=paths=source_relative \
	--plugin=protoc-gen-go-grpc=$(PROTOC_GEN_GO_GRPC) --go-grpc_out=$(1) --go-grpc_opt=paths=source_relative \
	$(PROTO_DIR)/driver.proto

.PHONY: all build deps images test unit integration vet demo bench clean proto proto-check

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

unit: vet proto-check
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

# Each generator is built once per version, named with it.
$(PROTOC_GEN_GO):
	@mkdir -p $(TOOLS)/gen-go
	GOBIN=$(TOOLS)/gen-go $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	mv $(TOOLS)/gen-go/protoc-gen-go $@

$(PROTOC_GEN_GO_GRPC):
	@mkdir -p $(TOOLS)/gen-go-grpc
	GOBIN=$(TOOLS)/gen-go-grpc $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	mv $(TOOLS)/gen-go-grpc/protoc-gen-go-grpc $@

# proto writes the generated files with the pinned protoc only, since its
# version is recorded in their headers.
proto: $(PROTOC_GEN_GO) $(PROTOC_GEN_GO_GRPC)
	@v=$$(protoc --version 2>/dev/null); [ "$$v" = "libprotoc $(PROTOC_VERSION)" ] || \
	  { echo "make proto: needs protoc $(PROTOC_VERSION) (Debian bookworm's protobuf-compiler; make deps), found: $${v:-none}" >&2; exit 1; }
	$(call protoc_gen,$(PROTO_DIR))

# proto-check regenerates into a temporary directory and compares, the
# lines naming the protoc version aside (the code does not depend on it).
proto-check: $(PROTOC_GEN_GO) $(PROTOC_GEN_GO_GRPC)
	@command -v protoc >/dev/null || { echo "proto-check: no protoc; run make deps (Debian's protobuf-compiler)" >&2; exit 1; }
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(call protoc_gen,$$tmp) && \
	for f in $$tmp/*.go; do \
	  diff -q -I '^// .*protoc  *v[0-9]' "$$f" $(PROTO_DIR)/$$(basename "$$f") >/dev/null 2>&1 || \
	    { echo "$(PROTO_DIR)/$$(basename "$$f") is not what driver.proto generates: run make proto" >&2; exit 1; }; \
	done; \
	n=$$(ls $(PROTO_DIR)/*.pb.go | wc -l); [ "$$n" -eq "$$(ls $$tmp/*.go | wc -l)" ] || \
	  { echo "$(PROTO_DIR) holds generated files driver.proto no longer makes: run make proto" >&2; exit 1; }

clean:
	rm -rf bin
