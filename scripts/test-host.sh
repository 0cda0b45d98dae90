#!/usr/bin/env bash
# Run the host test crate (tests/host/) one file at a time: each file's tests
# side by side (as many at once as cargo's test threads), the files one
# after another. That is how they ran when every file was its own test
# binary; Envoy tests of different files run side by side have been seen to
# disturb each other (edge::rules_see_the_path_the_upstream_sees lost its
# HEAD response in 3 of 13 whole-crate runs here, never in a run of its
# own file).
# One build, one binary: only the runs are split.
#
#   scripts/test-host.sh [EXTRA LIBTEST ARGS…]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo=${CARGO:-cargo}
"$cargo" test --quiet --test host --no-run
tests=$("$cargo" test --quiet --test host -- --list --format terse | sed -n 's/: test$//p')
[[ -n $tests ]] || { echo "test-host: tests/host lists no test" >&2; exit 1; }
for module in $(sed 's/::.*//' <<<"$tests" | sort -u); do
  echo "test-host: tests/host/$module.rs" >&2
  # shellcheck disable=SC2046
  "$cargo" test --test host -- --exact $(grep "^$module::" <<<"$tests") "$@"
done
