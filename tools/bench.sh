#!/usr/bin/env bash
# Benchmark (not a test): builds, then runs tools/bench/run_bench.py. Pass --rows N, --codec, --skip-python.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
if ! bash tools/build.sh >"$log" 2>&1; then cat "$log"; rm -f "$log"; exit 1; fi
rm -f "$log"
exec /usr/bin/python3 tools/bench/run_bench.py "$@"
