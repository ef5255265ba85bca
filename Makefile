# Test command: `make test` (installs the test dependencies, then runs every test).
GO ?= go
FUZZTIME ?= 30s
TESTFLAGS ?=

.PHONY: all build test vet fuzz bench deps

all: build

build:
	$(GO) build ./...

# scripts/install-test-deps.sh builds (once, then cached) an eapol_test with the
# USIM simulator and prints its path on stdout; the integration tests in test/
# run it through AAA_EAPOL_TEST.
deps:
	@bash scripts/install-test-deps.sh

test:
	@eapol_test="$$(bash scripts/install-test-deps.sh)" && \
	AAA_EAPOL_TEST="$$eapol_test" $(GO) test -count=1 $(TESTFLAGS) ./...

vet:
	$(GO) vet ./...

# Runs every fuzz target of every package for FUZZTIME each
# (go test -fuzz takes one target of one package at a time).
fuzz:
	@set -eu; n=0; \
	for pkg in $$($(GO) list ./...); do \
		list="$$($(GO) test -list '^Fuzz' "$$pkg")"; \
		targets="$$(printf '%s\n' "$$list" | grep -E '^Fuzz' || true)"; \
		for t in $$targets; do \
			echo "fuzz: $$pkg $$t for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime "$(FUZZTIME)" "$$pkg"; \
			n=$$((n + 1)); \
		done; \
	done; \
	echo "fuzz: $$n target(s) run for $(FUZZTIME) each"

bench:
	$(GO) test -run XXX -bench . -benchmem ./...
