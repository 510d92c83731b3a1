# cnsgate — the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
BIN     ?= bin/cnsgate
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
export GOTOOLCHAIN := local
# Fuzz time per target for `make fuzz` (go test -fuzztime syntax).
FUZZTIME ?= 15s
# The linter `make lint` runs, fetched and built by `go run` (not a module dependency).
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run build build-hsm image test test-with-servers test-e2e test-pages screenshots web-assets lint fuzz bench bench-login bench-endpoints clean

# Listen addresses of `make run` and `make test-e2e`, e.g.
#   make run PUBLIC=localhost:9443 CNS=localhost:9444 ADMIN=127.0.0.1:9465
# ESENZIONI and CMS move the example relying parties ("off" leaves one out
# of `make run`). Unset, `make run` uses the demo's own (public
# localhost:8443, card localhost:8444, admin 127.0.0.1:9464, Esenzioni
# localhost:8081, CMS localhost:8082) and `make test-e2e` free loopback
# ports. DEMO_DIR is the demo's directory for `make run`.
PUBLIC    ?=
CNS       ?=
ADMIN     ?=
ESENZIONI ?=
CMS       ?=
CONSOLE   ?=
DEMO_DIR  ?= ./cnsgate-demo
DEMO_FLAGS = --dir $(DEMO_DIR) $(if $(PUBLIC),--public $(PUBLIC)) $(if $(CNS),--cns $(CNS)) \
	$(if $(ADMIN),--admin $(ADMIN)) $(if $(ESENZIONI),--esenzioni $(ESENZIONI)) $(if $(CMS),--cms $(CMS)) \
	$(if $(CONSOLE),--console $(CONSOLE))

## run: build and start the embedded demo (generated card PKI, SQLite, memory
## sessions) on PUBLIC, CNS, ADMIN, ESENZIONI and CMS (above)
run: build
	./$(BIN) demo $(DEMO_FLAGS)

## build: the static cnsgate binary in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN) ./cmd/cnsgate

## build-hsm: the same binary with cgo, for signing keys in an HSM (PKCS#11:
## oidc.keys[].pkcs11, saml.key_pkcs11); it loads the vendor's module at run time
build-hsm:
	CGO_ENABLED=1 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN) ./cmd/cnsgate

## image: the container image localhost/cnsgate:$(VERSION), FROM scratch around
## the static binary (deploy/container/Containerfile.scratch, with podman);
## deploy/container/Containerfile is the multi-stage build for machines with a registry
IMAGE ?= localhost/cnsgate:$(VERSION)
image: build
	scripts/image.sh $(BIN) $(IMAGE) $(VERSION)

## test: the whole check on a fresh machine: installs what is missing
## (scripts/test-setup.sh), starts throw-away Redis and PostgreSQL unless
## CNSGATE_TEST_REDIS_ADDR / CNSGATE_TEST_POSTGRES_DSN name servers
## (scripts/with-test-servers.sh), then lint, every Go test with -race, the
## citizen's journey with curl, behind nginx and in Chromium, and the
## Prometheus alert rules
test: build
	scripts/test-setup.sh
	scripts/with-test-servers.sh $(MAKE) --no-print-directory test-with-servers

# test-with-servers: what `make test` runs once the servers are up.
test-with-servers: lint
	CNSGATE_TEST_BIN=$(CURDIR)/$(BIN) $(GO) test -race -count=1 -timeout 30m ./...
	scripts/e2e-curl.sh $(BIN)
	scripts/e2e-nginx.sh $(BIN)
	$(E2E_ENV) node scripts/e2e-browser.mjs $(BIN)
	node scripts/e2e-pages.mjs $(BIN)
	node scripts/e2e-console.mjs $(BIN)
	promtool check rules deploy/prometheus/alerts.yml
	promtool test rules deploy/prometheus/alerts_test.yml

## test-e2e: the citizen's journey in Debian's headless Chromium with a demo
## card in its NSS database, against `cnsgate demo` on free loopback ports or
## PUBLIC, CNS, ADMIN, ESENZIONI and CMS (root, chromium, libnss3-tools,
## openssl and `npm ci --prefix scripts/browser`); screenshots in
## testresults/e2e-browser/
E2E_ENV = $(if $(PUBLIC),CNSGATE_E2E_PUBLIC=$(PUBLIC)) $(if $(CNS),CNSGATE_E2E_CNS=$(CNS)) \
	$(if $(ADMIN),CNSGATE_E2E_ADMIN=$(ADMIN)) $(if $(ESENZIONI),CNSGATE_E2E_ESENZIONI=$(ESENZIONI)) \
	$(if $(CMS),CNSGATE_E2E_CMS=$(CMS))
test-e2e: build
	$(E2E_ENV) node scripts/e2e-browser.mjs $(BIN)

## test-pages: every citizen page in headless Chromium, Italian and English, at
## 320, 375 and 1280 px: no horizontal overflow, zero axe-core WCAG 2.1 AA
## violations, nothing refused by the CSP (same needs as test-e2e; free
## loopback ports of its own); screenshots in testresults/e2e-pages/
test-pages: build
	node scripts/e2e-pages.mjs $(BIN)

## screenshots: test-pages, keeping the Italian screenshots in docs/screenshots/
screenshots: build
	node scripts/e2e-pages.mjs --screenshots docs/screenshots $(BIN)

## lint: formatting, vet and staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## fuzz: run every native fuzz target for FUZZTIME each
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## bench: the benchmarks recorded in BENCHMARKS.md: the Go benchmarks, then
## the full card login on `cnsgate serve` against a bare TLS+ES256 baseline,
## both pinned to one CPU (cmd/cnsgate-bench-login; BENCH_LOGIN_FLAGS adds
## flags, e.g. -registry postgres -sessions redis), then POST /token,
## /userinfo and /introspect on kept-alive connections against bare endpoints
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(MAKE) --no-print-directory bench-login
	$(MAKE) --no-print-directory bench-endpoints

# bench-login: the login benchmark alone.
bench-login: build
	$(GO) build -o bin/cnsgate-bench-login ./cmd/cnsgate-bench-login
	bin/cnsgate-bench-login -cnsgate $(BIN) $(BENCH_LOGIN_FLAGS)

# bench-endpoints: POST /token (ES256 ID tokens, against one ES256
# signature), /userinfo and /introspect, each against its bare baseline.
bench-endpoints: build
	$(GO) build -o bin/cnsgate-bench-login ./cmd/cnsgate-bench-login
	bin/cnsgate-bench-login -cnsgate $(BIN) -workload token,userinfo,introspect -baseline-alg es256 -id-token-alg ES256 $(BENCH_LOGIN_FLAGS)

clean:
	rm -rf bin

## web-assets: vendor Bootstrap Italia's stylesheet and the Titillium Web fonts
## into idp/web/static from npm (versions and licences in idp/web/static/VERSIONS)
web-assets:
	scripts/web-assets.sh
