#!/usr/bin/env bash
# Benchmarks (not tests): builds, then
#   bash tools/bench.sh [--rows N] [--codec C] [--skip-python] [--compare-durability]
#       a full sync into the mock province beside a C++ floor and a Python reference (tools/bench/run_bench.py);
#   bash tools/bench.sh --connectors [--rows N] [--only KIND ...] [--json]
#       one line per connector: read + map rows/s beside a floor for its feed kind (build/bin/dxhub-feed-bench);
#   bash tools/bench.sh --daemon [--only idle|incremental|memory ...] [--idle-seconds S] [--small-rows N]
#                                [--large-rows N] [--memory-rows N] [--keep] [--build DIR]
#       the daemon (`dxhub run`): idle CPU and RSS, 1000 changed rows delivered, peak RSS of a full sync
#       (tools/bench/daemon_bench.py; --help for every option).
#   bash tools/bench.sh --realtime [--rates 500,2000] [--seconds 60] [--concurrency 4]
#       push ingest: event posted -> receipt at the hub, p50/p99/max per rate (tools/bench/realtime_bench.py).
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
if ! bash tools/build.sh >"$log" 2>&1; then cat "$log"; rm -f "$log"; exit 1; fi
rm -f "$log"
if [[ "${1:-}" == "--connectors" ]]; then
  shift
  exec build/bin/dxhub-feed-bench --dir "$(mktemp -d)/feed-bench" "$@"
fi
if [[ "${1:-}" == "--daemon" ]]; then
  shift
  exec /usr/bin/python3 tools/bench/daemon_bench.py "$@"
fi
if [[ "${1:-}" == "--realtime" ]]; then
  shift
  exec /usr/bin/python3 tools/bench/realtime_bench.py "$@"
fi
exec /usr/bin/python3 tools/bench/run_bench.py "$@"
