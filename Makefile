# jwe-authn — every entry point a user or CI needs.
#
#   make demo   build everything and show a valid, an expired and a tampered token
#   make check  the inner loop: format, clippy, unit and hermetic tests
#               (no Envoy, Node.js or ../shared)
#   make test   install what is missing, then run every check and test (CI)
#
# Only rustup, Python 3 (pip, venv), Node.js with npm and network access to
# the package registries are assumed; everything else is installed here.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
# Where cargo builds: CARGO_TARGET_DIR when set, as cargo itself does.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
WASM := $(TARGET_DIR)/wasm32-wasip1/release/jwe_authn.wasm
CLI := $(TARGET_DIR)/release/jwe-authn

.PHONY: schema soak fuzz fuzz-smoke timing bench bench-native flood oci all setup wasm-target python-env node-deps build wasm cli lint-crate lint audit unit check test demo clean

all: build

## Set-up: the wasm target, the project-local Python virtualenv and the
## Node packages of the interop tests (panva/jose, pinned by package-lock.json).
setup: wasm-target python-env node-deps

wasm-target:
	@rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1

python-env:
	@scripts/python-env.sh

node-deps: tests/interop/node_modules/.package-lock.json

tests/interop/node_modules/.package-lock.json: tests/interop/package-lock.json
	cd tests/interop && npm ci --no-audit --no-fund --silent

## Builds.
build: wasm cli

## The pass-through filter goes to bench/passthrough/target whatever
## CARGO_TARGET_DIR says: envoy/bench/passthrough.yaml names that path.
wasm: wasm-target
	$(CARGO) build --release --target wasm32-wasip1 --lib
	$(CARGO) build --release --target wasm32-wasip1 --manifest-path bench/passthrough/Cargo.toml --target-dir bench/passthrough/target

cli:
	$(CARGO) build --release --bin jwe-authn

## The configuration's JSON Schema, generated from src/config/schema.rs
## (`jwe-authn schema`); tests/hermetic/json_schema.rs fails when the
## shipped file differs. Run after changing a configuration struct.
schema:
	$(CARGO) run --quiet --release --bin jwe-authn -- schema > schema/jwe-authn.config.schema.json.tmp
	mv schema/jwe-authn.config.schema.json.tmp schema/jwe-authn.config.schema.json

## The plugin as an OCI image for Istio: a standard OCI layout and tarball
## under target/oci (no Docker needed), plus `docker build` when an engine runs.
oci: wasm
	scripts/oci-image.py $(WASM) target/oci $$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
	@if docker info >/dev/null 2>&1; then docker build -t jwe-authn:latest .; else echo "oci: no Docker engine; wrote the OCI layout only"; fi

## Hostile traffic for 60 s against Envoy with two workers
## (tests/host/soak.rs; `make test` runs the same test for 8 s).
soak: setup wasm
	SOAK_SECONDS=$${SOAK_SECONDS:-60} $(CARGO) test --test host soak:: -- --nocapture

## Rejection-time distributions: bad GCM tag against bad RSA-OAEP key
## (bench/timing.py; results in the README's Security section).
timing: setup wasm cli
	bench/timing.py

## Fuzzing (cargo fuzz, nightly): `make fuzz` runs each target 10 minutes;
## `make fuzz-smoke` (part of `make test`) runs all three for 30 s at once.
fuzz:
	scripts/fuzz.sh 600

fuzz-smoke:
	PARALLEL=1 scripts/fuzz.sh 30

## Benchmarks (not part of make test): see BENCHMARKS.md. `bench` runs Envoy
## under load and the bare pipeline as plain Wasm; `bench-native` runs the
## criterion benchmarks of the same pipeline natively.
bench:
	bench/run.sh

bench-native:
	$(CARGO) bench --manifest-path bench/pipeline/Cargo.toml

## Floods of forged tokens (cheap, RSA-OAEP-256, ECDH-ES; ES256 against
## jwt_authn) beside cached legitimate traffic on one Envoy worker
## (bench/flood.sh; FLOOD_SECONDS=20 per phase, ROUNDS=1): legitimate req/s
## and latency, the public route's, fresh valid tokens from a second address,
## the filter's counters; writes bench/flood-results.json.
flood:
	bench/flood.sh

## Checks. `lint-crate`: the filter crate itself (native and wasm32);
## `lint`: that and every other crate here (benchmarks, fuzz targets).
lint-crate: wasm-target
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy --target wasm32-wasip1 --lib -- -D warnings

lint: lint-crate
	$(CARGO) fmt --manifest-path bench/passthrough/Cargo.toml -- --check
	$(CARGO) fmt --manifest-path bench/pipeline/Cargo.toml -- --check
	$(CARGO) fmt --manifest-path bench/duel/Cargo.toml -- --check
	$(CARGO) clippy --manifest-path bench/duel/Cargo.toml -- -D warnings
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml -- --check
	$(CARGO) clippy --target wasm32-wasip1 --manifest-path bench/passthrough/Cargo.toml -- -D warnings
	$(CARGO) clippy --manifest-path bench/pipeline/Cargo.toml --all-targets -- -D warnings
	$(CARGO) clippy --target wasm32-wasip1 --manifest-path bench/pipeline/Cargo.toml --features envoy-vm -- -D warnings
	$(CARGO) clippy --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings
	$(CARGO) fmt --manifest-path tests/parity/Cargo.toml -- --check
	$(CARGO) fmt --manifest-path native/Cargo.toml -- --check
	$(CARGO) clippy --manifest-path native/Cargo.toml --all-targets -- -D warnings
	$(CARGO) clippy --target wasm32-wasip1 --manifest-path tests/parity/Cargo.toml -- -D warnings

audit:
	scripts/audit.sh

## The unit tests in src/ (library and CLI): no Envoy, Node.js or ../shared.
unit:
	$(CARGO) test --lib --bins

## The inner loop, about 20 s warm: formatting, clippy (native and wasm32)
## and the tests that need nothing but this checkout (unit tests and
## tests/hermetic/). `make test` is the gate: it adds tests/host/ (Envoy,
## Node.js, ../shared), the audit and the fuzz smoke run.
check: lint-crate
	$(CARGO) test --lib --bins --test hermetic

## Everything CI runs.
test: setup lint wasm audit
	$(CARGO) test --lib --bins --test hermetic
	CARGO=$(CARGO) scripts/test-host.sh
	$(MAKE) fuzz-smoke
	@echo "make test: all checks passed"

## The quick start: Envoy with the filter, three requests, then stop.
demo: setup wasm cli
	scripts/demo.sh

clean:
	$(CARGO) clean
	rm -rf .venv
