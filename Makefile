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

# Runs every fuzz target of every package for FUZZTIME each (scripts/fuzz.sh).
fuzz:
	@GO=$(GO) FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

# Load test: aaad under aaabench on loopback (scripts/bench.sh). Settings come
# from the environment: DURATION, CONCURRENCY, METHOD, RATE, REAUTH, ANONYMOUS,
# SUBSCRIBERS, LOG_LEVEL, SOCKETS.
bench:
	@GO=$(GO) bash scripts/bench.sh
