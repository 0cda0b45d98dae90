#!/usr/bin/env bash
# Audit dependencies against the RustSec snapshot in ../shared/advisory-db,
# installing cargo-audit on first use. Ignored advisories and the reasons are
# in .cargo/audit.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
db=../shared/advisory-db
if [ ! -d "$db" ]; then
  echo "audit: $db is missing (CI puts ../shared beside the checkout)" >&2
  exit 1
fi
if ! cargo audit --version >/dev/null 2>&1; then
  echo "audit: installing cargo-audit (once)"
  cargo install cargo-audit --locked --quiet
fi
cargo audit --db "$db" --no-fetch --deny warnings
# The benchmark and fuzzing crates are never shipped, but they run here:
# audit their lockfiles too, under the same recorded decisions.
for lock in bench/pipeline/Cargo.lock bench/passthrough/Cargo.lock fuzz/Cargo.lock; do
  cargo audit --db "$db" --no-fetch --deny warnings --file "$lock"
done
