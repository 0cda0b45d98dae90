#!/usr/bin/env bash
# Make sure a cargo subcommand the checks use is installed at the pinned
# version: `scripts/cargo-tool.sh audit` or `scripts/cargo-tool.sh fuzz`.
# It installs (`cargo install --locked`: the tool's own Cargo.lock) only when the
# subcommand is missing or reports another version; otherwise it does
# nothing. The versions are pinned here, in one place.
set -euo pipefail
case ${1:-} in
  audit) crate=cargo-audit version=0.22.2 ;;
  fuzz) crate=cargo-fuzz version=0.13.2 ;;
  *) echo "usage: scripts/cargo-tool.sh audit|fuzz" >&2; exit 2 ;;
esac
# `cargo audit --version` prints "cargo-audit 0.22.2"; cargo-fuzz likewise.
have=$(cargo "$1" --version 2>/dev/null | awk '{print $2}') || true
if [ "$have" != "$version" ]; then
  echo "cargo-tool: installing $crate $version${have:+ (found $have)}; it builds from source, a few minutes once" >&2
  env -u CARGO_TARGET_DIR cargo install --locked --quiet --force --version "$version" "$crate"
fi
