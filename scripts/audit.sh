#!/usr/bin/env bash
# Audit dependencies against the RustSec snapshot in ../shared/advisory-db,
# installing cargo-audit (the version pinned in scripts/cargo-tool.sh) when
# it is missing or another version. Ignored advisories and the reasons are
# in .cargo/audit.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
db=../shared/advisory-db
if [ ! -d "$db" ]; then
  echo "audit: $db is missing (CI puts ../shared beside the checkout)" >&2
  exit 1
fi
scripts/cargo-tool.sh audit
cargo audit --db "$db" --no-fetch --deny warnings
# The benchmark and fuzzing crates are never shipped, but they run here:
# audit their lockfiles too, under the same recorded decisions.
for lock in bench/pipeline/Cargo.lock bench/passthrough/Cargo.lock bench/duel/Cargo.lock fuzz/Cargo.lock; do
  cargo audit --db "$db" --no-fetch --deny warnings --file "$lock"
done
