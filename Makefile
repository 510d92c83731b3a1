# cnsgate — the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
BIN     ?= bin/cnsgate
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
export GOTOOLCHAIN := local
# Fuzz time per target for `make fuzz` (go test -fuzztime syntax).
FUZZTIME ?= 15s

.PHONY: run build test test-e2e lint fuzz bench clean

## run: build and start the embedded demo (generated card PKI, SQLite, memory sessions)
run: build
	./$(BIN) demo

## build: the static cnsgate binary in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN) ./cmd/cnsgate

## test: vet, every Go test (Redis and PostgreSQL must be reachable: see README),
## then the citizen's journey with curl against a real cnsgate process, and
## the same card login behind a real nginx (proxy mode)
test: build
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...
	scripts/e2e-curl.sh $(BIN)
	scripts/e2e-nginx.sh $(BIN)

## test-e2e: the citizen's journey in Debian's headless Chromium with a demo
## card in its NSS database, against `cnsgate demo` on the default ports
## (root, chromium, libnss3-tools, openssl and `npm ci --prefix scripts/browser`);
## screenshots in testresults/e2e-browser/
test-e2e: build
	node scripts/e2e-browser.mjs $(BIN)

## lint: formatting and vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## fuzz: run every native fuzz target for FUZZTIME each
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## bench: the benchmarks recorded in BENCHMARKS.md
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
